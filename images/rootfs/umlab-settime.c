// umlab-settime: sets UML's clock from lines of epoch seconds on stdin, answering "ok" or "error <errno>"
// for each, until stdin ends. umlab-clock keeps it running beside itself, so setting the clock after a
// restore costs UML no fork and exec (`date -s` costs about half a second of UML's time just then).
// Built freestanding for i386 (no libc, raw int 0x80 system calls), like umlab-bench.

enum { SYS_exit = 1, SYS_read = 3, SYS_write = 4, SYS_clock_settime64 = 404, CLOCK_REALTIME = 0 };

static long sys3(long n, long a, long b, long c) {
  long r;
  __asm__ volatile("int $0x80" : "=a"(r) : "a"(n), "b"(a), "c"(b), "d"(c) : "memory");
  return r;
}

static void reply(long err) {
  char line[16] = "error ";
  int n = 6;
  if (err == 0) {
    sys3(SYS_write, 1, (long)"ok\n", 3);
    return;
  }
  for (unsigned long v = (unsigned long)-err, d = 1000; d; d /= 10)
    if (v >= d || d == 1) line[n++] = (char)('0' + v / d % 10);
  line[n++] = '\n';
  sys3(SYS_write, 1, (long)line, n);
}

// One line: decimal seconds since the epoch, nothing else (22 = EINVAL otherwise).
static long set_clock(const char *s, int len) {
  struct { long long sec, nsec; } ts = { 0, 0 };
  if (len == 0 || len > 19) return -22;
  for (int i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9') return -22;
    ts.sec = ts.sec * 10 + (s[i] - '0');
  }
  return sys3(SYS_clock_settime64, CLOCK_REALTIME, (long)&ts, 0);
}

void _start(void) {
  char buf[256];
  int have = 0;
  for (;;) {
    long got = sys3(SYS_read, 0, (long)(buf + have), (long)(sizeof buf - (unsigned)have));
    if (got <= 0) break;
    have += (int)got;
    int start = 0;
    for (int i = 0; i < have; i++) {
      if (buf[i] != '\n') continue;
      reply(set_clock(buf + start, i - start));
      start = i + 1;
    }
    // A line longer than the buffer is dropped as an error; a partial line waits for the rest.
    if (start == 0 && have == (int)sizeof buf) {
      reply(-22);
      have = 0;
    } else {
      for (int i = start; i < have; i++) buf[i - start] = buf[i];
      have -= start;
    }
  }
  for (;;) sys3(SYS_exit, 0, 0, 0);
}
