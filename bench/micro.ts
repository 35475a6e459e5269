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
  /** The warm-up rule (tests shorten it); the bench's is WARM_RULE. */
  warm?: WarmRule;
}

export interface MicroResult {
  /** Steady state: measured after the warm-up (see warmThenMeasure). */
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

/** Warm-up ends only after this much of the test's own time: v86's JIT keeps compiling for seconds. */
export const WARM_MIN_NS = 6e9;
/** Warm-up rounds after the first are sized to take about this long (at least the measured count). */
export const WARM_ROUND_NS = 0.5e9;
/** The last two warm-up rounds must agree within this share (per op). */
export const WARM_AGREEMENT = 0.15;
/** At most this many warm-up rounds, whatever the time and agreement. */
export const MAX_WARM_ROUNDS = 40;

export interface WarmRule {
  minNs: number;
  roundNs: number;
  maxRounds: number;
}

const WARM_RULE: WarmRule = { minNs: WARM_MIN_NS, roundNs: WARM_ROUND_NS, maxRounds: MAX_WARM_ROUNDS };

/**
 * Warms `test` up, then runs it once with `ops`. The first round is a quarter of `ops`: the cold figure a
 * user meets right after a start (pages faulted back in, v86's JIT compiling). Further rounds, each sized
 * to take about `roundNs`, continue until the warm-up has taken `minNs` of the test's own time and its last
 * two rounds agree within WARM_AGREEMENT (at most `maxRounds` in all). v86 compiles a page of guest code
 * only once it has run often enough, and the browser then recompiles each module on other threads, so
 * fork+exec in UML keeps getting faster for about 6 s of looping; stopping at the first two rounds that
 * agree (the rule until the nineteenth round) measured partway down that slope. The same rule applies on
 * every target. Returns the first round's time per op, the rounds and the warm-up's own time.
 */
export async function warmThenMeasure(
  bench: (args: string) => Promise<BenchLine>,
  test: string,
  ops: number,
  rule: WarmRule = WARM_RULE,
): Promise<{ line: BenchLine; firstPerOp: number; warmRounds: number; warmNs: number }> {
  const first = await bench(`${test} ${Math.max(1, Math.round(ops / 4))}`);
  const firstPerOp = perOp(first);
  let warmNs = first.ns;
  let rounds = 1;
  let last = firstPerOp;
  let agreed = false;
  while (rounds < rule.maxRounds && (warmNs < rule.minNs || !agreed)) {
    const size = Math.max(ops, Math.round(rule.roundNs / Math.max(last, 1)));
    const line = await bench(`${test} ${size}`);
    const now = perOp(line);
    rounds++;
    warmNs += line.ns;
    agreed = Math.abs(now - last) <= WARM_AGREEMENT * Math.max(now, last);
    last = now;
  }
  return { line: await bench(`${test} ${ops}`), firstPerOp, warmRounds: rounds, warmNs };
}

/**
 * Runs the suite on `shell`. The read follows `sync` and dropping the guest's caches, so it comes from the
 * disk stack rather than the page cache.
 */
export async function runMicro(shell: Shell, p: MicroParams, hooks: MicroHooks = {}): Promise<MicroResult> {
  const bench = async (args: string): Promise<BenchLine> => parseBenchLine(await shell.run(`umlab-bench ${args}`, 300_000));
  const rule = p.warm ?? WARM_RULE;
  const forkExec = await warmThenMeasure(bench, "forkexec", p.forkExecs, rule);
  const syscall = await warmThenMeasure(bench, "syscall", p.syscalls, rule);
  const cpu = await warmThenMeasure(bench, "cpu", p.cpuRounds, rule);
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

/**
 * What the start figures type at the first prompt: a short external command, as a user's first one is
 * (`ls`, `uname -a`). Until the nineteenth round they typed `true` between two marker echoes, 58
 * characters: at a just-restored machine, before v86's JIT has compiled anything, each typed character
 * costs about 3.5 ms (busybox's line editor reads, polls and echoes it, each a ptrace stop in UML), so
 * the markers alone took about 150 ms of the figure.
 */
export const START_PROBE = "uname -r";

/**
 * How often the transcript shows `probe` echoed on a line with a whole kernel release line after it. A
 * resumed session's screen may hold earlier answers, so a start waits for this count to grow.
 */
export function probeAnswers(transcript: string, probe = START_PROBE): number {
  const lines = transcript.replace(/\r/g, "").split("\n");
  let answers = 0;
  // The last line is not whole yet.
  for (let i = 0; i + 2 < lines.length; i++) if (lines[i]?.endsWith(probe) && /^\d+\.\d+\S*$/.test(lines[i + 1] ?? "")) answers++;
  return answers;
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
