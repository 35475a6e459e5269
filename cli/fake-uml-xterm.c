/*
 * fake-uml-xterm: UML 6.1's xterm_open (arch/um/drivers/xterm.c, xterm_kern.c), with a delay put where
 * UML's own can fall under load: between starting the terminal emulator and arming its socket.
 *
 *   fake-uml-xterm [--winch] <socket path> <arm delay ms> <timeout ms> <emulator> [emulator args...]
 *
 * Like UML it binds a datagram socket, runs `<emulator...> port-helper -uml-socket <socket>`, sets O_ASYNC
 * on the socket and then reads it only when a SIGIO comes. A message queued before the socket was armed
 * raises no SIGIO, so unless someone sends one, the read never happens: the race cli/console-mux.test.ts
 * checks umlab-term for. Prints one line: "descriptor tty=<0|1> pid=<n> after=<ms>", "no descriptor
 * after=<ms>" or "no SIGIO", and ends the emulator (and port-helper) as UML does.
 *
 * With --winch it then does what UML's line_activate does with the descriptor: it reads the tty's size
 * ("activated <rows> <cols>"), waits until someone resizes the tty, and only then starts a winch thread
 * (here a child) that makes the tty its controlling tty and waits for SIGWINCH: "winch <rows> <cols>
 * after=<ms>" or "no SIGWINCH". The kernel signalled that resize to no one, so only the mux can.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t sigio;

static void on_sigio(int sig) { (void)sig; sigio = 1; }

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* os_rcv_fd: one datagram, the helper's pid as data and maybe a descriptor. */
static int receive(int sock, int *pid, int *fd)
{
	char control[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = pid, .iov_len = sizeof(*pid) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof(control) };
	struct cmsghdr *cmsg;

	if (recvmsg(sock, &msg, 0) < 0)
		return -errno;
	cmsg = CMSG_FIRSTHDR(&msg);
	*fd = cmsg != NULL && cmsg->cmsg_type == SCM_RIGHTS ? *(int *)CMSG_DATA(cmsg) : -1;
	return 0;
}

/* UML's winch_thread: a new session whose controlling tty is the console, in its foreground, then SIGWINCH. */
static int winch_thread(int fd, long timeout)
{
	struct timespec wait = { .tv_sec = timeout / 1000, .tv_nsec = timeout % 1000 * 1000000L };
	sigset_t sigs;

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGWINCH);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	if (setsid() < 0 || ioctl(fd, TIOCSCTTY, 0) < 0 || tcsetpgrp(fd, getpid()) < 0) {
		perror("fake-uml-xterm: winch thread");
		return 2;
	}
	return sigtimedwait(&sigs, NULL, &wait) == SIGWINCH ? 0 : 1;
}

/* line_activate, with the resize falling between reading the size and the winch thread taking the tty. */
static void activate(int fd, long timeout)
{
	struct winsize first, now;
	long started, deadline;
	pid_t thread;
	int status;

	if (ioctl(fd, TIOCGWINSZ, &first) < 0) {
		perror("fake-uml-xterm: TIOCGWINSZ");
		return;
	}
	printf("activated %d %d\n", first.ws_row, first.ws_col);
	fflush(stdout);
	deadline = now_ms() + timeout;
	do {
		usleep(1000);
		ioctl(fd, TIOCGWINSZ, &now);
	} while (now.ws_row == first.ws_row && now.ws_col == first.ws_col && now_ms() < deadline);
	if (now.ws_row == first.ws_row && now.ws_col == first.ws_col) {
		printf("no resize\n");
		return;
	}
	started = now_ms();
	thread = fork();
	if (thread == 0)
		_exit(winch_thread(fd, timeout));
	waitpid(thread, &status, 0);
	ioctl(fd, TIOCGWINSZ, &now);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		printf("winch %d %d after=%ld\n", now.ws_row, now.ws_col, now_ms() - started);
	else
		printf("no SIGWINCH\n");
}

int main(int argc, char **argv)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct sigaction sa = { .sa_handler = on_sigio };
	long delay, timeout, armed;
	int sock, helper = -1, fd = -1;
	char **cmd;
	pid_t emulator;
	int winch = argc > 1 && strcmp(argv[1], "--winch") == 0;

	if (winch) {
		argv[1] = argv[0];
		argv++;
		argc--;
	}
	if (argc < 5 || strlen(argv[1]) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "usage: fake-uml-xterm [--winch] <socket path> <arm delay ms> <timeout ms> <emulator> [args...]\n");
		return 2;
	}
	delay = atol(argv[2]);
	timeout = atol(argv[3]);
	/* UML always handles SIGIO; the default action would end this process at umlab-term's first one. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGIO, &sa, NULL);

	strcpy(addr.sun_path, argv[1]);
	unlink(addr.sun_path);
	sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0 || bind(sock, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		perror("fake-uml-xterm: socket");
		return 2;
	}

	cmd = calloc(argc - 4 + 4, sizeof(*cmd));
	for (int i = 4; i < argc; i++)
		cmd[i - 4] = argv[i];
	cmd[argc - 4] = "port-helper";
	cmd[argc - 3] = "-uml-socket";
	cmd[argc - 2] = argv[1];
	emulator = fork();
	if (emulator == 0) {
		execvp(cmd[0], cmd);
		_exit(127);
	}

	/* UML's xterm_open and xterm_fd, with the delay: here port-helper has long sent its message. */
	/* umlab-term's SIGIOs cut a sleep short; the delay must hold all the same. */
	for (long until = now_ms() + delay; now_ms() < until;)
		usleep(1000);
	sigio = 0;
	if (fcntl(sock, F_SETFL, fcntl(sock, F_GETFL) | O_ASYNC | O_NONBLOCK) < 0 ||
	    fcntl(sock, F_SETSIG, SIGIO) < 0 || fcntl(sock, F_SETOWN, getpid()) < 0) {
		perror("fake-uml-xterm: fcntl");
		return 2;
	}
	armed = now_ms();
	for (;;) {
		if (sigio) {
			sigio = 0;
			if (receive(sock, &helper, &fd) == 0)
				break;
		}
		if (now_ms() - armed > timeout) {
			printf("no SIGIO\n");
			kill(emulator, SIGKILL);
			waitpid(emulator, NULL, 0);
			return 1;
		}
		usleep(1000);
	}
	if (fd >= 0) {
		printf("descriptor tty=%d pid=%d after=%ld\n", isatty(fd), helper, now_ms() - armed);
		fflush(stdout);
		unlink(addr.sun_path);
		if (winch)
			activate(fd, timeout);
	} else {
		printf("no descriptor after=%ld\n", now_ms() - armed);
	}
	/* What UML does when it closes the console, or gives up on it: SIGKILL both helpers. */
	kill(emulator, SIGKILL);
	waitpid(emulator, NULL, 0);
	if (helper > 0)
		kill(helper, SIGKILL);
	return 0;
}
