// The microbenchmarks: umlab-bench (images/bench-tool) run through a shell, the same way on every target.

/** A shell on some machine: runs one command line and resolves with its output. */
export interface Shell {
  run(cmd: string, timeoutMs?: number): Promise<string>;
}

export interface BenchLine {
  test: string;
  ops: number;
  ns: number;
  fsyncNs?: number;
}

/** Parses umlab-bench's one-line report; anything else (an error line, a shell message) throws with it. */
export function parseBenchLine(output: string): BenchLine {
  const m = /umlab-bench (\w+) ops=(\d+) ns=(\d+)(?: fsync_ns=(\d+))?/.exec(output);
  if (!m?.[1] || !m[2] || !m[3]) throw new Error(`umlab-bench did not report: ${JSON.stringify(output.trim().slice(-300))}`);
  return { test: m[1], ops: Number(m[2]), ns: Number(m[3]), ...(m[4] ? { fsyncNs: Number(m[4]) } : {}) };
}

export interface MicroParams {
  forkExecs: number;
  syscalls: number;
  cpuRounds: number;
  /** MiB to write and read back; 0 skips the disk figures (a target without a disk-backed filesystem). */
  diskMiB: number;
  /** Where the file goes. */
  diskFile: string;
}

export interface MicroResult {
  /** Steady state: measured once warm-up rounds agree (see warmUp). */
  forkExecMs: number;
  /** The first warm-up round of fork+execs after the start: pages faulted back in, v86's JIT still compiling. */
  forkExecFirstMs: number;
  syscallUs: number;
  /** Nanoseconds per round of the integer loop. */
  cpuNsPerRound: number;
  writeMBps?: number;
  /** The fsync after the write: how long until the data is durable. */
  fsyncMs?: number;
  readMBps?: number;
}

/** UML in v86 runs fork+exec in about 0.2 s and a syscall in about 0.1 ms, so these take seconds there. */
export const V86_PARAMS: MicroParams = { forkExecs: 40, syscalls: 5000, cpuRounds: 20_000_000, diskMiB: 16, diskFile: "/root/umlab-bench.dat" };
/** Native runs are far faster, so more rounds keep the clock's resolution out of the figure. */
export const NATIVE_PARAMS: MicroParams = { ...V86_PARAMS, forkExecs: 400, syscalls: 50_000, cpuRounds: 200_000_000 };

const perOp = (line: BenchLine): number => line.ns / line.ops;

export interface MicroHooks {
  /** Drops the page cache one level out (the v86 host under UML), so the read reaches the emulated disk. */
  dropOuterCaches?: () => Promise<void>;
  /** Runs once the write and its fsync are done, before the file is read back and removed. */
  afterWrite?: () => Promise<void>;
}

/** Warm-up rounds of a quarter of the measured count each, until two in a row agree within this share. */
export const WARM_AGREEMENT = 0.15;
/** At most this many warm-up rounds, agreeing or not. */
export const MAX_WARM_ROUNDS = 8;

/**
 * Runs `test` in rounds of a quarter of `ops` until two rounds in a row agree within WARM_AGREEMENT (at most
 * MAX_WARM_ROUNDS), then once with `ops`. A machine just restored faults its pages back in on first use, and
 * v86's JIT compiles the loop's code, which the browser then recompiles on other threads: the measured run
 * is the steady state after that, on every target alike. Also returns the first round's time per op.
 */
export async function warmThenMeasure(bench: (args: string) => Promise<BenchLine>, test: string, ops: number): Promise<{ line: BenchLine; firstPerOp: number; warmRounds: number }> {
  const quarter = Math.max(1, Math.round(ops / 4));
  let first: number | undefined;
  let last: number | undefined;
  let rounds = 0;
  while (rounds < MAX_WARM_ROUNDS) {
    const now = perOp(await bench(`${test} ${quarter}`));
    rounds++;
    first ??= now;
    const agreed = last !== undefined && Math.abs(now - last) <= WARM_AGREEMENT * Math.max(now, last);
    last = now;
    if (agreed) break;
  }
  return { line: await bench(`${test} ${ops}`), firstPerOp: first ?? 0, warmRounds: rounds };
}

/**
 * Runs the suite on `shell`. The read follows `sync` and dropping the guest's caches, so it comes from the
 * disk stack rather than the page cache.
 */
export async function runMicro(shell: Shell, p: MicroParams, hooks: MicroHooks = {}): Promise<MicroResult> {
  const bench = async (args: string): Promise<BenchLine> => parseBenchLine(await shell.run(`umlab-bench ${args}`, 300_000));
  const forkExec = await warmThenMeasure(bench, "forkexec", p.forkExecs);
  const syscall = await warmThenMeasure(bench, "syscall", p.syscalls);
  const cpu = await warmThenMeasure(bench, "cpu", p.cpuRounds);
  const result: MicroResult = { forkExecMs: perOp(forkExec.line) / 1e6, forkExecFirstMs: forkExec.firstPerOp / 1e6, syscallUs: perOp(syscall.line) / 1e3, cpuNsPerRound: perOp(cpu.line) };
  if (p.diskMiB > 0) {
    const write = await bench(`write ${p.diskFile} ${p.diskMiB}`);
    await hooks.afterWrite?.();
    await shell.run("sync; echo 3 > /proc/sys/vm/drop_caches");
    await hooks.dropOuterCaches?.();
    const read = await bench(`read ${p.diskFile}`);
    await shell.run(`rm -f ${p.diskFile}; sync`);
    const fsyncNs = write.fsyncNs ?? 0;
    result.writeMBps = write.ops / 1e6 / ((write.ns - fsyncNs) / 1e9);
    result.fsyncMs = fsyncNs / 1e6;
    result.readMBps = read.ops / 1e6 / (read.ns / 1e9);
  }
  return result;
}

/**
 * Output between two marker lines that only the command's own run prints (the echoed input has "" in them).
 * Printable markers, unlike cli/shell-protocol.ts's RS-framed ones, because they are read back from the
 * page's xterm buffer, which drops control characters.
 */
export function markedCommand(cmd: string, token: string): { line: string; begin: string; end: string } {
  const begin = `${token}B`;
  const end = `${token}E`;
  const split = (s: string): string => `${s.slice(0, 4)}""${s.slice(4)}`;
  return { line: `echo ${split(begin)}; ${cmd}; echo ${split(end)}`, begin, end };
}

/** The command's output from a console transcript, or undefined while the end marker has not arrived. */
export function outputBetween(transcript: string, begin: string, end: string): string | undefined {
  const text = transcript.replace(/\r/g, "");
  const b = text.lastIndexOf(`\n${begin}\n`);
  if (b < 0) return undefined;
  const e = text.indexOf(`\n${end}`, b + begin.length + 1);
  if (e < 0) return undefined;
  return text.slice(b + begin.length + 2, e + 1);
}
