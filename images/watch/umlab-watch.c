// umlab-watch <status file> <disk stat file> [<interval ms> [<count>]]: the sampler of the host's UML boot
// watchdogs (umlab-uml, umlab-instance), which keep their rules in shell. It prints one line at once and then
// one every interval (default 500 ms), <count> lines in all (default: until the process is gone):
//   <disk reads> <voluntary switches> <segv>
//   <disk reads>          the first field of the disk stat file (/sys/block/sda/stat): completed reads;
//   <voluntary switches>  voluntary_ctxt_switches in the status file (/proc/<pid>/status): the sleeps;
//   <segv>                1 when the status shows a SIGSEGV pending (SigPnd bit 0x400) while SIGALRM is
//                         blocked (SigBlk bit 0x2000, the mask UML's signal handlers run with), else 0.
// A field it cannot read is "-". It exits when the status file can no longer be opened (the process is gone:
// no line) or when its output is closed. Each sample is two opens and reads: the shell's `read` took one
// system call per byte, about 80 ms of emulated CPU per sample, taken from the UML it watched.
// Built freestanding for i386 (no libc, raw int 0x80 system calls), like umlab-clockd.

enum { SYS_exit = 1, SYS_read = 3, SYS_write = 4, SYS_open = 5, SYS_close = 6, SYS_clock_nanosleep_time64 = 407 };
enum { CLOCK_MONOTONIC = 1, SIGSEGV_BIT = 0x400, SIGALRM_BIT = 0x2000 };

static long syscall4(long n, long a, long b, long c, long d) {
  long r;
  __asm__ volatile("int $0x80" : "=a"(r) : "a"(n), "b"(a), "c"(b), "d"(c), "S"(d) : "memory");
  return r;
}

static __attribute__((noreturn)) void quit(int status) {
  for (;;) syscall4(SYS_exit, status, 0, 0, 0);
}

// The whole file in one buffer, NUL-terminated; its length, or a negative errno.
static long slurp(const char *path, char *buf, long size) {
  long fd = syscall4(SYS_open, (long)path, 0, 0, 0);
  if (fd < 0) return fd;
  long have = 0;
  for (;;) {
    long got = syscall4(SYS_read, fd, (long)(buf + have), size - 1 - have, 0);
    if (got <= 0) break;
    have += got;
  }
  syscall4(SYS_close, fd, 0, 0, 0);
  buf[have] = 0;
  return have;
}

// The value after "<key>" at the start of a line of a status file, blanks skipped; 0 if there is none.
static const char *field(const char *text, const char *key) {
  for (const char *line = text; *line;) {
    const char *k = key, *p = line;
    while (*k && *p == *k) k++, p++;
    if (!*k) {
      while (*p == ' ' || *p == '\t') p++;
      return p;
    }
    while (*line && *line != '\n') line++;
    if (*line) line++;
  }
  return 0;
}

// The low 32 bits of a hexadecimal mask (the signal bits that matter are all below 32).
static unsigned hex_low(const char *p) {
  unsigned v = 0;
  for (;; p++) {
    unsigned d;
    if (*p >= '0' && *p <= '9') d = (unsigned)(*p - '0');
    else if (*p >= 'a' && *p <= 'f') d = (unsigned)(*p - 'a' + 10);
    else if (*p >= 'A' && *p <= 'F') d = (unsigned)(*p - 'A' + 10);
    else return v;
    v = v << 4 | d;
  }
}

// Appends the first word at p (blanks before it skipped), or "-" if there is none.
static int put_word(char *out, const char *p) {
  int n = 0;
  while (p && (*p == ' ' || *p == '\t')) p++;
  while (p && p[n] > ' ' && n < 20) out[n] = p[n], n++;
  if (!n) out[n++] = '-';
  return n;
}

static long number(const char *s) {
  long v = 0;
  if (!*s) return -1;
  for (; *s; s++) {
    if (*s < '0' || *s > '9' || v > 100000000) return -1;
    v = v * 10 + (*s - '0');
  }
  return v;
}

static char status[8192], disk[512];

__attribute__((force_align_arg_pointer)) void umlab_watch(int argc, char **argv) {
  long interval = argc > 3 ? number(argv[3]) : 500, count = argc > 4 ? number(argv[4]) : 0;
  if (argc < 3 || argc > 5 || interval < 0 || count < 0) {
    static const char usage[] = "usage: umlab-watch <status file> <disk stat file> [<interval ms> [<count>]]\n";
    syscall4(SYS_write, 2, (long)usage, sizeof usage - 1, 0);
    quit(2);
  }
  for (long n = 0; !count || n < count; n++) {
    if (n) {
      struct { long long sec, nsec; } pause = { interval / 1000, interval % 1000 * 1000000LL };
      syscall4(SYS_clock_nanosleep_time64, CLOCK_MONOTONIC, 0, (long)&pause, 0);
    }
    if (slurp(argv[1], status, sizeof status) < 0) quit(0);
    const char *pending = field(status, "SigPnd:"), *blocked = field(status, "SigBlk:");
    int segv = pending && blocked && (hex_low(pending) & SIGSEGV_BIT) && (hex_low(blocked) & SIGALRM_BIT);
    char line[64];
    int len = put_word(line, slurp(argv[2], disk, sizeof disk) > 0 ? disk : 0);
    line[len++] = ' ';
    len += put_word(line + len, field(status, "voluntary_ctxt_switches:"));
    line[len++] = ' ';
    line[len++] = segv ? '1' : '0';
    line[len++] = '\n';
    if (syscall4(SYS_write, 1, (long)line, len, 0) != len) quit(1);
  }
  quit(0);
}

// The kernel starts a program with argc, then argv, on the stack.
__asm__(".globl _start\n_start:\n  mov (%esp), %eax\n  lea 4(%esp), %edx\n  push %edx\n  push %eax\n  call umlab_watch\n");
