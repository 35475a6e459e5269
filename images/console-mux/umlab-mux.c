/*
 * umlab-mux: carries every umlab-term console over one byte stream (on the host, the virtio-console port
 * /dev/hvc2), so each of UML's xterm consoles becomes a terminal tab in the page.
 *
 *   umlab-mux [-s socket] <device | ->
 *
 * umlab-term connects to the unix socket (SOCK_SEQPACKET, default /run/umlab-mux.sock) and sends one
 * packet: the console's title, with the pty master attached (SCM_RIGHTS). The mux answers with the
 * channel number it assigned (u16 LE; 0 = refused) and closes the connection. Channel numbers start at 1
 * and are never reused while the mux runs.
 *
 * Frames on the device, both directions: type u8, channel u16 LE, length u16 LE, then `length` bytes
 * (at most 4096).
 *   to the worker:   1 OPEN (title)  2 DATA (pty output)  3 CLOSE (the console went away, or was closed)
 *   from the worker: 2 DATA (input)  3 CLOSE  4 RESIZE (cols u16 LE, rows u16 LE)  5 LIST (channel 0)
 * LIST is answered with an OPEN for every live channel. A frame from the worker with an unknown type or a
 * length over 4096 means the stream lost its framing: the mux says so on stderr and drops everything it
 * has buffered from the device.
 *
 * Flow control: everything runs from one poll loop with non-blocking descriptors. Output for the device
 * is queued; above DEVICE_QUEUE_HIGH the mux stops reading the pty masters (UML's writes then wait in
 * the ptys) until the device drains. Input for a console is queued per channel up to CHANNEL_QUEUE_MAX
 * bytes, and bytes beyond that are dropped (logged once per channel): a console whose pty stays full
 * never stalls the others or the device.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define HEADER 5
#define MAX_PAYLOAD 4096
#define MAX_CHANNELS 64
#define MAX_CLIENTS 8
#define CHANNEL_QUEUE_MAX (64 * 1024)
#define DEVICE_QUEUE_HIGH (256 * 1024)
/* How long a resize nobody was signalled for waits for UML's winch thread to take the tty. */
#define WINCH_WAIT_MS 30000
#define WINCH_POLL_MS 100

enum { T_OPEN = 1, T_DATA = 2, T_CLOSE = 3, T_RESIZE = 4, T_LIST = 5 };

struct queue {
	uint8_t *data;
	size_t start, end, cap;
};

struct channel {
	unsigned id;
	int fd; /* the pty master; -1 once closed */
	char *title;
	size_t title_len;
	struct queue in; /* bytes for the master */
	int dropped;
	long winch_until; /* while nonzero, a resize waits for a foreground process group to signal */
};

static struct channel channels[MAX_CHANNELS];
static int nchannels;
static int clients[MAX_CLIENTS];
static int nclients;
static unsigned next_id = 1;
static struct queue device_out;
static uint8_t device_in[2 * (HEADER + MAX_PAYLOAD)];
static size_t device_in_len;
static int dev_in = -1, dev_out = -1, listener = -1;
static const char *socket_path = "/run/umlab-mux.sock";
static volatile sig_atomic_t stop_signal;

static void on_stop(int sig) { stop_signal = sig; }

static void fatal(const char *what)
{
	fprintf(stderr, "umlab-mux: %s: %s\n", what, strerror(errno));
	if (listener >= 0)
		unlink(socket_path);
	exit(1);
}

static size_t queued(const struct queue *q) { return q->end - q->start; }

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* The slave's foreground process group (TIOCGPGRP on a master answers for its slave); 0 if none. */
static pid_t foreground(const struct channel *c)
{
	pid_t pgrp = 0;

	return ioctl(c->fd, TIOCGPGRP, &pgrp) == 0 && pgrp > 0 ? pgrp : 0;
}

/*
 * The kernel signals a resize only to the slave's foreground process group at that moment. UML 6.1
 * reads a console's size when the console is first opened, then starts a winch thread that makes the
 * slave its controlling tty a moment later: a resize in between would reach no one, and the console
 * would keep the old size until the next one. So the mux delivers that SIGWINCH itself once the thread
 * has taken the tty. Returns whether any resize is still waiting.
 */
static int deliver_winches(void)
{
	long now = now_ms();
	int waiting = 0;

	for (int i = 0; i < nchannels; i++) {
		struct channel *c = &channels[i];
		pid_t pgrp;

		if (c->fd < 0 || c->winch_until == 0)
			continue;
		pgrp = foreground(c);
		if (pgrp > 0) {
			kill(-pgrp, SIGWINCH);
			c->winch_until = 0;
		} else if (now > c->winch_until) {
			c->winch_until = 0;
		} else {
			waiting = 1;
		}
	}
	return waiting;
}

static void queue_push(struct queue *q, const void *bytes, size_t n)
{
	if (q->start == q->end)
		q->start = q->end = 0;
	if (q->end + n > q->cap && q->start > 0) {
		memmove(q->data, q->data + q->start, q->end - q->start);
		q->end -= q->start;
		q->start = 0;
	}
	if (q->end + n > q->cap) {
		size_t cap = q->cap ? q->cap : 8192;
		while (cap < q->end + n)
			cap *= 2;
		q->data = realloc(q->data, cap);
		if (q->data == NULL)
			fatal("out of memory");
		q->cap = cap;
	}
	memcpy(q->data + q->end, bytes, n);
	q->end += n;
}

static void emit(unsigned type, unsigned channel, const void *payload, size_t len)
{
	uint8_t header[HEADER] = { type, channel & 0xff, channel >> 8, len & 0xff, len >> 8 };

	queue_push(&device_out, header, HEADER);
	if (len)
		queue_push(&device_out, payload, len);
}

static void flush_device(void)
{
	while (queued(&device_out)) {
		ssize_t n = write(dev_out, device_out.data + device_out.start, queued(&device_out));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return;
			fatal("writing the device");
		}
		device_out.start += n;
	}
}

static struct channel *find_channel(unsigned id)
{
	for (int i = 0; i < nchannels; i++)
		if (channels[i].id == id && channels[i].fd >= 0)
			return &channels[i];
	return NULL;
}

/* Closes the master and tells the worker; the slot is reclaimed by compact_channels. */
static void close_channel(struct channel *c)
{
	close(c->fd);
	c->fd = -1;
	emit(T_CLOSE, c->id, NULL, 0);
}

static void compact_channels(void)
{
	int j = 0;

	for (int i = 0; i < nchannels; i++) {
		if (channels[i].fd < 0) {
			free(channels[i].title);
			free(channels[i].in.data);
			continue;
		}
		channels[j++] = channels[i];
	}
	nchannels = j;
}

static void flush_channel(struct channel *c)
{
	while (queued(&c->in)) {
		ssize_t n = write(c->fd, c->in.data + c->in.start, queued(&c->in));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				c->in.start = c->in.end; /* the console is going away; its read side reports it */
			return;
		}
		c->in.start += n;
	}
}

static void read_channel(struct channel *c)
{
	uint8_t buf[MAX_PAYLOAD];
	ssize_t n = read(c->fd, buf, sizeof(buf));

	if (n > 0)
		emit(T_DATA, c->id, buf, n);
	else if (n == 0 || (errno != EAGAIN && errno != EINTR))
		close_channel(c); /* EIO: every slave descriptor is closed */
}

static void handle_frame(unsigned type, unsigned id, const uint8_t *payload, size_t len)
{
	struct channel *c = find_channel(id);

	switch (type) {
	case T_DATA:
		if (c == NULL)
			return;
		if (queued(&c->in) + len > CHANNEL_QUEUE_MAX) {
			if (!c->dropped)
				fprintf(stderr, "umlab-mux: channel %u is not reading; dropping input\n", id);
			c->dropped = 1;
			len = CHANNEL_QUEUE_MAX - queued(&c->in);
		}
		queue_push(&c->in, payload, len);
		flush_channel(c);
		return;
	case T_CLOSE:
		if (c != NULL)
			close_channel(c);
		return;
	case T_RESIZE:
		if (len != 4) {
			fprintf(stderr, "umlab-mux: RESIZE for channel %u with %zu bytes, ignored\n", id, len);
			return;
		}
		if (c != NULL) {
			struct winsize ws = { .ws_col = payload[0] | payload[1] << 8, .ws_row = payload[2] | payload[3] << 8 };

			if (ioctl(c->fd, TIOCSWINSZ, &ws) < 0)
				fprintf(stderr, "umlab-mux: resizing channel %u: %s\n", id, strerror(errno));
			/* With a foreground group the kernel has signalled it; without, see deliver_winches. */
			c->winch_until = foreground(c) > 0 ? 0 : now_ms() + WINCH_WAIT_MS;
		}
		return;
	case T_LIST:
		for (int i = 0; i < nchannels; i++)
			if (channels[i].fd >= 0)
				emit(T_OPEN, channels[i].id, channels[i].title, channels[i].title_len);
		return;
	}
}

static void read_device(void)
{
	ssize_t n = read(dev_in, device_in + device_in_len, sizeof(device_in) - device_in_len);
	size_t pos = 0;

	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		fatal("reading the device");
	}
	if (n == 0) {
		fprintf(stderr, "umlab-mux: the device closed; exiting\n");
		unlink(socket_path);
		exit(0);
	}
	device_in_len += n;
	while (device_in_len - pos >= HEADER) {
		const uint8_t *h = device_in + pos;
		unsigned type = h[0], id = h[1] | h[2] << 8, len = h[3] | h[4] << 8;

		if ((type != T_DATA && type != T_CLOSE && type != T_RESIZE && type != T_LIST) || len > MAX_PAYLOAD) {
			fprintf(stderr, "umlab-mux: bad frame (type %u, length %u); dropping %zu buffered bytes\n", type, len,
				device_in_len - pos);
			pos = device_in_len;
			break;
		}
		if (device_in_len - pos < HEADER + len)
			break;
		handle_frame(type, id, h + HEADER, len);
		pos += HEADER + len;
	}
	memmove(device_in, device_in + pos, device_in_len - pos);
	device_in_len -= pos;
}

static void reply_and_close(int client, unsigned id)
{
	uint8_t reply[2] = { id & 0xff, id >> 8 };

	if (send(client, reply, sizeof(reply), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		fprintf(stderr, "umlab-mux: answering umlab-term: %s\n", strerror(errno));
	close(client);
}

/* One packet from umlab-term: the title, with the pty master attached. Returns 1 once the client is done. */
static int read_client(int client)
{
	char title[MAX_PAYLOAD];
	char control[CMSG_SPACE(4 * sizeof(int))];
	struct iovec iov = { .iov_base = title, .iov_len = sizeof(title) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof(control) };
	int fds[4], nfds = 0, master;
	struct channel *c;
	ssize_t n;

	n = recvmsg(client, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	for (struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg); n >= 0 && cmsg != NULL; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
		if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; (i + 1) * sizeof(int) <= cmsg->cmsg_len - CMSG_LEN(0) && nfds < 4; i++)
			memcpy(&fds[nfds++], CMSG_DATA(cmsg) + i * sizeof(int), sizeof(int));
	}
	master = nfds == 1 && n > 0 ? fds[0] : -1;
	if (master < 0 || !isatty(master) || nchannels >= MAX_CHANNELS || next_id > 0xffff) {
		fprintf(stderr, "umlab-mux: refused a console (%s)\n",
			n <= 0 ? "no title" : nfds != 1 ? "no single descriptor" : master < 0 || !isatty(master) ? "not a tty" : "too many consoles");
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		reply_and_close(client, 0);
		return 1;
	}
	fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
	c = &channels[nchannels++];
	memset(c, 0, sizeof(*c));
	c->id = next_id++;
	c->fd = master;
	c->title_len = n;
	c->title = malloc(n);
	if (c->title == NULL)
		fatal("out of memory");
	memcpy(c->title, title, n);
	emit(T_OPEN, c->id, c->title, c->title_len);
	reply_and_close(client, c->id);
	return 1;
}

static void accept_client(void)
{
	int client = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (client < 0)
		return;
	if (nclients == MAX_CLIENTS) {
		reply_and_close(client, 0);
		return;
	}
	clients[nclients++] = client;
}

static void open_device(const char *path)
{
	struct termios tio;

	if (strcmp(path, "-") == 0) {
		dev_in = 0;
		dev_out = 1;
	} else {
		dev_in = dev_out = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (dev_in < 0)
			fatal(path);
		if (isatty(dev_in)) {
			if (tcgetattr(dev_in, &tio) < 0)
				fatal(path);
			cfmakeraw(&tio);
			if (tcsetattr(dev_in, TCSANOW, &tio) < 0)
				fatal(path);
		}
	}
	fcntl(dev_in, F_SETFL, fcntl(dev_in, F_GETFL) | O_NONBLOCK);
	fcntl(dev_out, F_SETFL, fcntl(dev_out, F_GETFL) | O_NONBLOCK);
}

static void open_listener(void)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };

	if (strlen(socket_path) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "umlab-mux: socket path too long: %s\n", socket_path);
		exit(2);
	}
	strcpy(addr.sun_path, socket_path);
	listener = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (listener < 0)
		fatal("socket");
	unlink(socket_path); /* a stale socket from an earlier mux */
	if (bind(listener, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(listener, MAX_CLIENTS) < 0)
		fatal(socket_path);
}

int main(int argc, char **argv)
{
	struct pollfd pfd[3 + MAX_CLIENTS + MAX_CHANNELS];
	struct sigaction sa;
	int opt;

	while ((opt = getopt(argc, argv, "s:")) != -1) {
		if (opt != 's') {
			fprintf(stderr, "usage: umlab-mux [-s socket] <device | ->\n");
			return 2;
		}
		socket_path = optarg;
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: umlab-mux [-s socket] <device | ->\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	open_device(argv[optind]);
	open_listener();
	fprintf(stderr, "umlab-mux: consoles on %s, umlab-term connects to %s\n", argv[optind], socket_path);

	while (!stop_signal) {
		int n = 0, first_client, first_channel, ready, kept;
		int reading = queued(&device_out) < DEVICE_QUEUE_HIGH;

		flush_device();
		pfd[n++] = (struct pollfd){ .fd = dev_in, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = queued(&device_out) ? dev_out : -1, .events = POLLOUT };
		pfd[n++] = (struct pollfd){ .fd = listener, .events = POLLIN };
		first_client = n;
		for (int i = 0; i < nclients; i++)
			pfd[n++] = (struct pollfd){ .fd = clients[i], .events = POLLIN };
		first_channel = n;
		for (int i = 0; i < nchannels; i++)
			pfd[n++] = (struct pollfd){ .fd = channels[i].fd,
						    .events = (reading ? POLLIN : 0) | (queued(&channels[i].in) ? POLLOUT : 0) };

		ready = poll(pfd, n, deliver_winches() ? WINCH_POLL_MS : -1);
		if (ready < 0) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		if (pfd[1].revents)
			flush_device();
		/* Channels first: their pollfd slots match the channel table only until a client adds one. */
		for (int i = 0; i < nchannels; i++) {
			short ev = pfd[first_channel + i].revents;
			struct channel *c = &channels[i];

			if (c->fd >= 0 && (ev & POLLOUT))
				flush_channel(c);
			if (c->fd >= 0 && (ev & (POLLIN | POLLHUP | POLLERR)))
				read_channel(c);
		}
		if (pfd[0].revents)
			read_device();
		compact_channels();
		kept = 0;
		for (int i = 0; i < nclients; i++)
			if (!pfd[first_client + i].revents || !read_client(clients[i]))
				clients[kept++] = clients[i];
		nclients = kept;
		if (pfd[2].revents)
			accept_client();
	}
	unlink(socket_path);
	return 0;
}
