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
  forkExecMs: number;
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

/**
 * Runs the suite on `shell`. The read follows `sync` and dropping the guest's caches, so it comes from the
 * disk stack rather than the page cache.
 */
export async function runMicro(shell: Shell, p: MicroParams, hooks: MicroHooks = {}): Promise<MicroResult> {
  const bench = async (args: string): Promise<BenchLine> => parseBenchLine(await shell.run(`umlab-bench ${args}`, 300_000));
  // A restored machine faults its pages back in on first use: measure the steady state, not that.
  await bench(`forkexec ${Math.max(1, Math.round(p.forkExecs / 10))}`);
  const forkExec = await bench(`forkexec ${p.forkExecs}`);
  const syscall = await bench(`syscall ${p.syscalls}`);
  const cpu = await bench(`cpu ${p.cpuRounds}`);
  const result: MicroResult = { forkExecMs: perOp(forkExec) / 1e6, syscallUs: perOp(syscall) / 1e3, cpuNsPerRound: perOp(cpu) };
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
