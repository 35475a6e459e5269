// umlab-bench: the microbenchmarks of `npm run bench`. Built freestanding for i386 (no libc, raw int 0x80
// system calls), so one binary behaves the same in UML in v86, on the host in v86 and in native UML.
//
//   umlab-bench forkexec N        fork + execve /bin/true + wait, N times
//   umlab-bench syscall N         getppid(), N times
//   umlab-bench cpu N             N rounds of an integer hash, no system calls
//   umlab-bench write FILE MIB    writes MIB MiB in 64 KiB chunks, then fsync
//   umlab-bench read FILE         reads FILE to the end in 64 KiB chunks
//
// Each prints one line: "umlab-bench <test> ops=<n> ns=<total>" (write adds "fsync_ns=<n>"), or
// "umlab-bench error <what> <errno>" and exits 1.

typedef unsigned int u32;
typedef unsigned long long u64;

enum {
  SYS_exit = 1, SYS_fork = 2, SYS_read = 3, SYS_write = 4, SYS_open = 5, SYS_close = 6,
  SYS_waitpid = 7, SYS_execve = 11, SYS_getppid = 64, SYS_fsync = 118, SYS_clock_gettime = 265,
};
enum { O_RDONLY = 0, O_WRONLY = 1, O_CREAT = 0100, O_TRUNC = 01000, CLOCK_MONOTONIC = 1 };

static long sys3(long n, long a, long b, long c) {
  long r;
  __asm__ volatile("int $0x80" : "=a"(r) : "a"(n), "b"(a), "c"(b), "d"(c) : "memory");
  return r;
}

static void out(const char *s) {
  u32 n = 0;
  while (s[n]) n++;
  sys3(SYS_write, 1, (long)s, n);
}

static void out_u64(u64 v) {
  char buf[24];
  int i = sizeof buf - 1;
  buf[i] = 0;
  do buf[--i] = (char)('0' + v % 10); while ((v /= 10) && i > 0);
  out(buf + i);
}

static u64 now_ns(void) {
  struct { long sec, nsec; } ts;
  sys3(SYS_clock_gettime, CLOCK_MONOTONIC, (long)&ts, 0);
  return (u64)ts.sec * 1000000000ull + (u64)ts.nsec;
}

static u32 parse_u32(const char *s) {
  u32 v = 0;
  while (s && *s >= '0' && *s <= '9') v = v * 10 + (u32)(*s++ - '0');
  return v;
}

static int streq(const char *a, const char *b) {
  while (*a && *a == *b) a++, b++;
  return *a == *b;
}

static __attribute__((noreturn)) void quit(int code) {
  for (;;) sys3(SYS_exit, code, 0, 0);
}

static __attribute__((noreturn)) void fail(const char *what, long err) {
  out("umlab-bench error ");
  out(what);
  out(" ");
  out_u64((u64)-err);
  out("\n");
  quit(1);
}

static void report(const char *test, u64 ops, u64 ns) {
  out("umlab-bench ");
  out(test);
  out(" ops=");
  out_u64(ops);
  out(" ns=");
  out_u64(ns);
}

static char chunk[65536];

static int run(int argc, char **argv, char **envp) {
  if (argc < 3) {
    out("usage: umlab-bench forkexec|syscall|cpu N | write FILE MIB | read FILE\n");
    return 2;
  }
  const char *test = argv[1];
  u64 t0 = now_ns();
  if (streq(test, "forkexec")) {
    u32 n = parse_u32(argv[2]);
    char *child_argv[] = {"/bin/true", 0};
    for (u32 i = 0; i < n; i++) {
      long pid = sys3(SYS_fork, 0, 0, 0);
      if (pid == 0) {
        sys3(SYS_execve, (long)"/bin/true", (long)child_argv, (long)envp);
        quit(127);
      }
      if (pid < 0) fail("fork", pid);
      int status = 0;
      long r = sys3(SYS_waitpid, pid, (long)&status, 0);
      if (r < 0) fail("waitpid", r);
      if (status != 0) fail("true-exited", -(long)status);
    }
    report(test, n, now_ns() - t0);
  } else if (streq(test, "syscall")) {
    u32 n = parse_u32(argv[2]);
    for (u32 i = 0; i < n; i++) sys3(SYS_getppid, 0, 0, 0);
    report(test, n, now_ns() - t0);
  } else if (streq(test, "cpu")) {
    u32 n = parse_u32(argv[2]);
    volatile u32 sink;
    u32 h = 2166136261u;
    for (u32 i = 0; i < n; i++) h = (h ^ (i & 0xff)) * 16777619u;
    sink = h;
    (void)sink;
    report(test, n, now_ns() - t0);
  } else if (streq(test, "write") && argc >= 4) {
    u32 mib = parse_u32(argv[3]);
    // Not zeros, and different per chunk, so nothing on the way can shortcut the data.
    for (u32 i = 0; i < sizeof chunk; i++) chunk[i] = (char)(i * 131 + 7);
    long fd = sys3(SYS_open, (long)argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) fail("open", fd);
    for (u32 i = 0; i < mib * 16; i++) {
      chunk[0] = (char)i, chunk[1] = (char)(i >> 8);
      for (u32 done = 0; done < sizeof chunk;) {
        long w = sys3(SYS_write, fd, (long)(chunk + done), (long)(sizeof chunk - done));
        if (w <= 0) fail("write", w);
        done += (u32)w;
      }
    }
    u64 written = now_ns();
    long r = sys3(SYS_fsync, fd, 0, 0);
    if (r < 0) fail("fsync", r);
    sys3(SYS_close, fd, 0, 0);
    // One end time for both figures: the write's time is ns - fsync_ns, which printing must not shorten.
    u64 end = now_ns();
    report(test, (u64)mib << 20, end - t0);
    out(" fsync_ns=");
    out_u64(end - written);
  } else if (streq(test, "read")) {
    long fd = sys3(SYS_open, (long)argv[2], O_RDONLY, 0);
    if (fd < 0) fail("open", fd);
    u64 total = 0;
    for (;;) {
      long r = sys3(SYS_read, fd, (long)chunk, sizeof chunk);
      if (r < 0) fail("read", r);
      if (r == 0) break;
      total += (u64)r;
    }
    sys3(SYS_close, fd, 0, 0);
    report(test, total, now_ns() - t0);
  } else {
    out("umlab-bench: unknown test\n");
    return 2;
  }
  out("\n");
  return 0;
}

__attribute__((noreturn, used)) void umlab_start(long *sp) {
  int argc = (int)sp[0];
  char **argv = (char **)(sp + 1);
  quit(run(argc, argv, argv + argc + 1));
}

// The kernel leaves argc, argv and envp on the stack; align it as the i386 ABI expects and pass it on.
__asm__(".globl _start\n_start:\n  xorl %ebp, %ebp\n  movl %esp, %eax\n  andl $-16, %esp\n  subl $12, %esp\n  pushl %eax\n  call umlab_start\n");
