/*
 * umlab-term: the "terminal emulator" UML's xterm channel starts (xterm=/usr/bin/umlab-term,-T,-e).
 *
 *   umlab-term -T <title> -e <command> [args...]
 *
 * UML runs it as `umlab-term -T "Virtual Console #2 (umid)" -e /usr/lib/uml/port-helper -uml-socket
 * /tmp/xterm-pipeXXXXXX`. Like xterm, it makes a pty pair and runs the command on the slave as its
 * controlling tty, in a new session; port-helper then gives up that controlling tty (TIOCNOTTY, so UML's
 * winch thread can take it with TIOCSCTTY) and passes its stdin, the slave, to UML. Instead of drawing a
 * window, umlab-term hands the pty master and the title to umlab-mux over its unix socket
 * ($UMLAB_MUX_SOCKET, default /run/umlab-mux.sock), and the page shows the console as a tab.
 *
 * UML kills this process (SIGKILL, the pid it started) and port-helper (SIGKILL, the pid port-helper sent
 * with the descriptor) when it closes the console. umlab-term gets SIGTERM when UML dies, and the command
 * when umlab-term dies (PR_SET_PDEATHSIG), so no helper outlives its UML; on SIGTERM or SIGHUP umlab-term
 * ends the command (SIGTERM: port-helper ignores SIGHUP) and exits.
 *
 * When the mux cannot be reached, umlab-term says so on stderr and exits 1. If the command is UML's
 * port-helper, it first sends UML's socket a message without a descriptor: UML's xterm_open waits for
 * one with no timeout, and this makes it fail ("os_rcv_fd failed") instead of hanging the console open.
 *
 * UML 6.1 arms that socket (O_ASYNC, epoll) only after it has started this program, and a message that
 * is already queued then raises no SIGIO: xterm_open would wait for some other I/O interrupt, a keystroke
 * or a packet. So until UML has taken the message (it unlinks the socket, or SIGKILLs this process),
 * umlab-term sends UML a SIGIO now and then; a spare one only makes UML poll its descriptors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_TITLE 1024
/* How long umlab-term reminds UML of a message it has not taken; UML in v86 under load is slow, not this slow. */
#define NUDGE_LIMIT_MS 60000

static volatile sig_atomic_t stop_signal;
/* The UML that started this program, when the command is its port-helper: the process to remind. */
static pid_t uml_pid;

static void on_stop(int sig) { stop_signal = sig; }

static void usage(void)
{
	fprintf(stderr, "usage: umlab-term -T <title> -e <command> [args...]\n");
	exit(2);
}

/* The socket UML waits on, when the command is port-helper: the word after -uml-socket. */
static const char *uml_socket_of(char **cmd)
{
	for (int i = 0; cmd[i] != NULL; i++)
		if (strcmp(cmd[i], "-uml-socket") == 0)
			return cmd[i + 1];
	return NULL;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/*
 * Sends UML a SIGIO now and then while its socket is still there and `child` (0: none) runs, so that a
 * message UML's xterm_open missed is read (header comment). Returns early on a stop signal.
 */
static void nudge_uml(const char *socket_path, pid_t child)
{
	struct stat st;
	siginfo_t info;
	long waited = 0, step = 50;

	if (uml_pid <= 1 || socket_path == NULL)
		return;
	while (waited < NUDGE_LIMIT_MS && !stop_signal) {
		sleep_ms(step);
		waited += step;
		if (lstat(socket_path, &st) < 0 || getppid() != uml_pid)
			return;
		info.si_pid = 0;
		if (child > 0 && (waitid(P_PID, child, &info, WEXITED | WNOHANG | WNOWAIT) < 0 || info.si_pid != 0))
			return;
		kill(uml_pid, SIGIO);
		if (step < 1000)
			step *= 2;
	}
}

/* Wakes UML's xterm_open with a message that carries no descriptor, so it gives up on this console. */
static void fail_uml_wait(char **cmd)
{
	const char *path = uml_socket_of(cmd);
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int32_t pid = -1;
	int fd;

	if (path == NULL || strlen(path) >= sizeof(addr.sun_path))
		return;
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, &pid, sizeof(pid), 0, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		fprintf(stderr, "umlab-term: could not tell UML at %s: %s\n", path, strerror(errno));
	close(fd);
	/* UML answers this message by SIGKILLing this process; until then, make sure it reads it. */
	nudge_uml(path, 0);
}

static void die(char **cmd, const char *fmt, const char *arg, int err)
{
	fprintf(stderr, "umlab-term: ");
	fprintf(stderr, fmt, arg);
	if (err)
		fprintf(stderr, ": %s", strerror(err));
	fprintf(stderr, "\n");
	fail_uml_wait(cmd);
	exit(1);
}

/* Connects to the mux, sends the title with the master attached and returns the channel it assigned. */
static unsigned register_console(const char *path, const char *title, int master, char **cmd)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char control[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = (void *)title, .iov_len = strlen(title) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof(control) };
	struct cmsghdr *cmsg;
	uint8_t reply[2];
	ssize_t n;
	int sock;

	if (strlen(path) >= sizeof(addr.sun_path))
		die(cmd, "mux socket path too long: %s", path, 0);
	strcpy(addr.sun_path, path);
	sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (sock < 0)
		die(cmd, "socket for %s", path, errno);
	if (connect(sock, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		die(cmd, "cannot reach the console mux (umlab-mux) at %s", path, errno);

	/* An empty title would be an empty packet, which a SEQPACKET reader cannot tell from EOF. */
	if (iov.iov_len == 0) {
		iov.iov_base = (void *)"console";
		iov.iov_len = 7;
	}
	memset(control, 0, sizeof(control));
	cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &master, sizeof(int));
	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		die(cmd, "sending the console to the mux at %s", path, errno);
	do
		n = recv(sock, reply, sizeof(reply), 0);
	while (n < 0 && errno == EINTR);
	if (n != 2 || (reply[0] | reply[1]) == 0)
		die(cmd, "the console mux at %s refused the console", path, n < 0 ? errno : 0);
	close(sock);
	return reply[0] | (unsigned)reply[1] << 8;
}

int main(int argc, char **argv)
{
	const char *title = "umlab-term";
	const char *path = getenv("UMLAB_MUX_SOCKET");
	char **cmd = NULL;
	char title_buf[MAX_TITLE + 1];
	int sync_pipe[2], master, slave, status, child_errno;
	const char *slave_name;
	struct sigaction sa;
	pid_t child, parent;
	ssize_t n;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-T") == 0 && i + 1 < argc) {
			title = argv[++i];
		} else if (strcmp(argv[i], "-e") == 0 && i + 1 < argc) {
			cmd = &argv[i + 1];
			break;
		} else {
			usage();
		}
	}
	if (cmd == NULL)
		usage();
	/* A console lives no longer than its UML: if UML dies without closing it, this process ends too. */
	parent = getppid();
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		return 1;
	if (uml_socket_of(cmd) != NULL)
		uml_pid = parent;
	if (path == NULL || *path == '\0')
		path = "/run/umlab-mux.sock";
	snprintf(title_buf, sizeof(title_buf), "%s", title);

	master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0 || (slave_name = ptsname(master)) == NULL)
		die(cmd, "cannot allocate a pty%s", "", errno);
	/* xterm's default size until the page's first RESIZE: a 0x0 tty makes stty, vi and less fail. */
	ioctl(master, TIOCSWINSZ, &(struct winsize){ .ws_row = 24, .ws_col = 80 });
	/* Held until the command has its own copy, so the master never sees the slave closed in between. */
	slave = open(slave_name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0)
		die(cmd, "cannot open %s", slave_name, errno);

	register_console(path, title_buf, master, cmd);
	close(master);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	if (pipe2(sync_pipe, O_CLOEXEC) < 0)
		die(cmd, "pipe%s", "", errno);
	child = fork();
	if (child < 0)
		die(cmd, "fork%s", "", errno);
	if (child == 0) {
		int tty;

		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		/* A new session whose controlling tty is the slave, as under xterm; port-helper drops it again. */
		if (setsid() < 0 || (tty = open(slave_name, O_RDWR)) < 0)
			goto fail;
		if (dup2(tty, 0) < 0 || dup2(tty, 1) < 0 || dup2(tty, 2) < 0)
			goto fail;
		if (tty > 2)
			close(tty);
		execvp(cmd[0], cmd);
	fail:
		child_errno = errno;
		n = write(sync_pipe[1], &child_errno, sizeof(child_errno));
		(void)n;
		_exit(127);
	}
	close(sync_pipe[1]);
	do
		n = read(sync_pipe[0], &child_errno, sizeof(child_errno));
	while (n < 0 && errno == EINTR);
	close(sync_pipe[0]);
	close(slave);
	if (n == sizeof(child_errno)) {
		waitpid(child, NULL, 0);
		die(cmd, "cannot run %s", cmd[0], child_errno);
	}
	nudge_uml(uml_socket_of(cmd), child);

	for (;;) {
		pid_t r;

		if (stop_signal) {
			/* port-helper ignores SIGHUP, so the command always gets SIGTERM. */
			kill(child, SIGTERM);
			waitpid(child, NULL, 0);
			return 128 + stop_signal;
		}
		r = waitpid(child, &status, 0);
		if (r == child)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		if (r < 0 && errno != EINTR)
			return 1;
	}
}
