// umlab-clockd: answers the lines of umlab's clock line that would otherwise cost a fork, or a system call
// per byte, one answer line each, "ok <line>..." or "error <line> <errno>":
//   <epoch seconds>  sets the clock after a restore: "ok <seconds>" (`date -s` would fork and exec just when
//                    the user's first command runs);
//   ports            the TCP ports in LISTEN state, polled every few seconds by the page: "ok ports 22 80"
//                    (the shell reads /proc/net/tcp one byte per read(), each a ptrace round trip in UML);
//   sync             sync(2): "ok sync".
// Every other line goes on to descriptor 3 (umlab-clock's shell loop, which answers it); without one, the
// answer is "error <line> 9". Lines are read from descriptor 0 in whole reads (one per line from a tty in
// canonical mode), not a byte at a time as the shell's `read` does. In UML it reads the clock line (tty1)
// itself, and turns the tty's echo off first (what `stty -echo` did, one exec fewer while UML boots); on the
// host, umlab-agent sets the host's clock through it.
// Built freestanding for i386 (no libc, raw int 0x80 system calls), like umlab-bench.

enum { SYS_exit = 1, SYS_read = 3, SYS_write = 4, SYS_open = 5, SYS_close = 6, SYS_sync = 36, SYS_ioctl = 54, SYS_clock_settime64 = 404, CLOCK_REALTIME = 0 };
enum { TCGETS = 0x5401, TCSETS = 0x5402, ECHO = 0x8 };

// The kernel's struct termios for i386 (asm-generic/termbits.h).
struct kernel_termios {
  unsigned c_iflag, c_oflag, c_cflag, c_lflag;
  unsigned char c_line, c_cc[19];
};
enum { LINE_MAX = 256, MAX_PORTS = 64 };

static long sys3(long n, long a, long b, long c) {
  long r;
  __asm__ volatile("int $0x80" : "=a"(r) : "a"(n), "b"(a), "c"(b), "d"(c) : "memory");
  return r;
}

static int put_decimal(char *out, unsigned long v) {
  int n = 0;
  for (unsigned long d = 1000000000; d; d /= 10)
    if (v >= d || d == 1 || n) out[n++] = (char)('0' + v / d % 10);
  return n;
}

static char reply[LINE_MAX + 32];

// Answers "<word> <line>" and, for an error, " <errno>".
static void answer(const char *word, const char *s, int len, long err) {
  int n = 0;
  while (*word) reply[n++] = *word++;
  reply[n++] = ' ';
  for (int i = 0; i < len; i++) reply[n++] = s[i];
  if (err) {
    reply[n++] = ' ';
    n += put_decimal(reply + n, (unsigned long)-err);
  }
  reply[n++] = '\n';
  sys3(SYS_write, 1, (long)reply, n);
}

static int is_digits(const char *s, int len) {
  for (int i = 0; i < len; i++)
    if (s[i] < '0' || s[i] > '9') return 0;
  return len > 0;
}

// One line: decimal seconds since the epoch, nothing else (the caller checked the digits).
static void set_clock(const char *s, int len) {
  struct { long long sec, nsec; } ts = { 0, 0 };
  if (len > 19) {
    answer("error", s, len, -22);
    return;
  }
  for (int i = 0; i < len; i++) ts.sec = ts.sec * 10 + (s[i] - '0');
  long err = sys3(SYS_clock_settime64, CLOCK_REALTIME, (long)&ts, 0);
  answer(err ? "error" : "ok", s, len, err);
}

static const char *skip_field(const char *p, const char *end) {
  while (p < end && *p == ' ') p++;
  while (p < end && *p != ' ') p++;
  return p;
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

static unsigned ports[MAX_PORTS];
static int port_count;

// A /proc/net/tcp row: "sl: local_address(hex ip:port) rem_address st ...", st 0A is LISTEN.
static void scan_row(const char *p, const char *end) {
  const char *local_end = skip_field(skip_field(p, end), end);
  const char *st_end = skip_field(skip_field(local_end, end), end);
  if (st_end - 2 < p || st_end[-2] != '0' || st_end[-1] != 'A') return;
  unsigned port = 0;
  const char *q = local_end;
  while (q > p && q[-1] != ':') q--;
  if (q == p || local_end - q != 4) return;
  for (; q < local_end; q++) {
    int v = hex_value(*q);
    if (v < 0) return;
    port = port * 16 + (unsigned)v;
  }
  for (int i = 0; i < port_count; i++)
    if (ports[i] == port) return;
  if (port_count < MAX_PORTS) ports[port_count++] = port;
}

static char table[4096];

static void list_ports(void) {
  long fd = sys3(SYS_open, (long)"/proc/net/tcp", 0, 0);
  if (fd < 0) {
    answer("error", "ports", 5, fd);
    return;
  }
  port_count = 0;
  int have = 0, header = 1;
  for (;;) {
    long got = sys3(SYS_read, fd, (long)(table + have), (long)(sizeof table - (unsigned)have));
    if (got < 0) {
      sys3(SYS_close, fd, 0, 0);
      answer("error", "ports", 5, got);
      return;
    }
    if (got == 0) break;
    have += (int)got;
    int start = 0;
    for (int i = 0; i < have; i++) {
      if (table[i] != '\n') continue;
      if (!header) scan_row(table + start, table + i);
      header = 0;
      start = i + 1;
    }
    // Rows are about 150 bytes, so a full buffer without a newline is not /proc/net/tcp.
    if (start == 0 && have == (int)sizeof table) break;
    for (int i = start; i < have; i++) table[i - start] = table[i];
    have -= start;
  }
  sys3(SYS_close, fd, 0, 0);
  char line[16 + MAX_PORTS * 6] = "ok ports";
  int n = 8;
  for (int i = 0; i < port_count; i++) {
    line[n++] = ' ';
    n += put_decimal(line + n, ports[i]);
  }
  line[n++] = '\n';
  sys3(SYS_write, 1, (long)line, n);
}

static int is_word(const char *s, int len, const char *word) {
  int i = 0;
  for (; i < len && word[i]; i++)
    if (s[i] != word[i]) return 0;
  return i == len && !word[i];
}

static void handle(char *s, int len) {
  if (is_word(s, len, "ports")) list_ports();
  else if (is_word(s, len, "sync")) {
    sys3(SYS_sync, 0, 0, 0);
    answer("ok", s, len, 0);
  } else if (is_digits(s, len)) set_clock(s, len);
  else {
    // The newline that ended the line goes along with it.
    long err = sys3(SYS_write, 3, (long)s, len + 1);
    if (err < 0) answer("error", s, len, err);
  }
}

void _start(void) {
  char buf[LINE_MAX];
  int have = 0;
  // A line read back to the writer as its echo would look like an answer. (Not a tty, e.g. a FIFO: nothing to do.)
  struct kernel_termios tty;
  if (sys3(SYS_ioctl, 0, TCGETS, (long)&tty) == 0 && (tty.c_lflag & ECHO)) {
    tty.c_lflag &= ~(unsigned)ECHO;
    sys3(SYS_ioctl, 0, TCSETS, (long)&tty);
  }
  for (;;) {
    long got = sys3(SYS_read, 0, (long)(buf + have), (long)(sizeof buf - (unsigned)have));
    if (got <= 0) break;
    have += (int)got;
    int start = 0;
    for (int i = 0; i < have; i++) {
      if (buf[i] != '\n') continue;
      handle(buf + start, i - start);
      start = i + 1;
    }
    // A line longer than the buffer is dropped as an error; a partial line waits for the rest.
    if (start == 0 && have == (int)sizeof buf) {
      answer("error", "-", 1, -22);
      have = 0;
    } else {
      for (int i = start; i < have; i++) buf[i - start] = buf[i];
      have -= start;
    }
  }
  for (;;) sys3(SYS_exit, 0, 0, 0);
}
