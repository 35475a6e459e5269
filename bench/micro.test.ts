import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { MAX_WARM_ROUNDS, WARM_MIN_NS, WARM_ROUND_NS, markedCommand, outputBetween, parseBenchLine, probeAnswers, runMicro, warmThenMeasure, type BenchLine, type Shell } from "./micro.ts";

describe("parseBenchLine", () => {
  it("reads a report, with or without fsync", () => {
    expect(parseBenchLine("umlab-bench syscall ops=5000 ns=450000000\n")).toEqual({ test: "syscall", ops: 5000, ns: 450000000 });
    expect(parseBenchLine("x\numlab-bench write ops=16777216 ns=900 fsync_ns=100\n")).toEqual({ test: "write", ops: 16777216, ns: 900, fsyncNs: 100 });
  });

  it("throws with the output when the program failed", () => {
    expect(() => parseBenchLine("umlab-bench error open 2\n")).toThrow(/error open 2/);
    expect(() => parseBenchLine("sh: umlab-bench: not found")).toThrow(/not found/);
  });
});

describe("warmThenMeasure", () => {
  /** A bench whose rounds take the given ns per op, in order; it records what it was asked to run. */
  function scripted(perOp: number[]): { bench: (args: string) => Promise<BenchLine>; asked: string[] } {
    const asked: string[] = [];
    return {
      asked,
      bench: async (args) => {
        asked.push(args);
        const ops = Number(args.split(" ")[1]);
        return { test: "forkexec", ops, ns: ops * (perOp[asked.length - 1] ?? 10) };
      },
    };
  }

  const rule = { minNs: 1000, roundNs: 400, maxRounds: 12 };

  it("starts with a quarter round, then warms up in rounds of about roundNs until minNs have passed and two rounds agree", async () => {
    const s = scripted([100, 50, 30, 27, 20, 19, 3]);
    const r = await warmThenMeasure(s.bench, "forkexec", 4, rule);
    // 1 op at 100, then max(4, 400/100) = 4 ops at 50 (300 ns so far), max(4, 400/50) = 8 at 30 (540),
    // 400/30 = 13 at 27 (891: agrees, but too soon), 15 at 20 (1191: disagrees), 20 at 19 (1571: both met).
    expect(s.asked).toEqual(["forkexec 1", "forkexec 4", "forkexec 8", "forkexec 13", "forkexec 15", "forkexec 20", "forkexec 4"]);
    expect(r).toEqual({ line: { test: "forkexec", ops: 4, ns: 12 }, firstPerOp: 100, warmRounds: 6, warmNs: 1571 });
  });

  it("does not stop at two rounds that agree before minNs has passed", async () => {
    const s = scripted([10, 10, 10, 10, 10, 10, 10]);
    const r = await warmThenMeasure(s.bench, "syscall", 40, rule);
    // 10 ops (100 ns), then rounds of max(40, 400/10) = 40 ops (400 ns each) until 1000 ns: three of them.
    expect(s.asked).toEqual(["syscall 10", "syscall 40", "syscall 40", "syscall 40", "syscall 40"]);
    expect(r.warmNs).toBe(1300);
  });

  it("gives up warming after maxRounds rounds that never agree", async () => {
    const s = scripted([100, 50, 100, 50, 100, 50, 100, 50, 100, 50, 100, 50, 100, 50, 7]);
    const r = await warmThenMeasure(s.bench, "syscall", 2, rule);
    expect(r.warmRounds).toBe(rule.maxRounds);
    expect(s.asked).toHaveLength(rule.maxRounds + 1);
    expect(s.asked.at(-1)).toBe("syscall 2");
    expect(s.asked[0]).toBe("syscall 1");
  });

  it("warms up for seconds by default, the time v86's JIT keeps compiling", () => {
    expect(WARM_MIN_NS).toBeGreaterThanOrEqual(5e9);
    expect(MAX_WARM_ROUNDS * WARM_ROUND_NS).toBeGreaterThan(WARM_MIN_NS);
  });
});

describe("markedCommand and outputBetween", () => {
  const marked = markedCommand("ls /", "tok1");

  it("keeps the markers out of the echoed command line", () => {
    expect(marked.line).not.toContain(marked.begin);
    expect(marked.line).not.toContain(marked.end);
  });

  it("finds the output in a terminal transcript, CRs and the echoed line included", () => {
    const transcript = `# ${marked.line}\r\n${marked.begin}\r\nbin\r\netc\r\n${marked.end}\r\n# `;
    expect(outputBetween(transcript, marked.begin, marked.end)).toBe("bin\netc\n");
  });

  it("gives an empty string for a silent command and undefined until the end marker arrives", () => {
    expect(outputBetween(`${marked.line}\n${marked.begin}\n${marked.end}\n`, marked.begin, marked.end)).toBe("");
    expect(outputBetween(`${marked.line}\n${marked.begin}\nbin\n`, marked.begin, marked.end)).toBeUndefined();
  });
});

describe("probeAnswers", () => {
  it("counts the echoed probe only once a whole kernel release line follows it", () => {
    expect(probeAnswers("umlab:~# ")).toBe(0);
    expect(probeAnswers("umlab:~# uname -r\r\n")).toBe(0);
    expect(probeAnswers("umlab:~# uname -r\r\n6.1.17")).toBe(0);
    expect(probeAnswers("umlab:~# uname -r\r\n6.1.176-umlab\r\numlab:~# ")).toBe(1);
  });

  it("counts earlier answers too (a resumed screen), and no error message", () => {
    expect(probeAnswers("# uname -r\n6.1.176\n# uname -r\n6.1.176\n# ")).toBe(2);
    expect(probeAnswers("# uname -r\nsh: uname: not found\n# ")).toBe(0);
  });
});

// Compiles and runs a real program: generous limits, since a loaded CI machine slows both down.
describe("runMicro with umlab-bench built and run natively", { timeout: 60_000 }, () => {
  const dir = mkdtempSync(path.join(tmpdir(), "umlab-bench-test-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const recipe = path.join(path.dirname(new URL(import.meta.url).pathname), "..", "images", "bench-tool", "build.sh");
  // The real program and shell, with a warm-up of milliseconds instead of the bench's seconds.
  const quickWarm = { minNs: 20e6, roundNs: 5e6, maxRounds: 6 };

  it("measures every figure through a real shell", async () => {
    execFileSync("bash", [recipe], { env: { ...process.env, OUT: dir } });
    const shell: Shell = {
      run: async (cmd) => {
        // /proc/sys/vm/drop_caches needs root; the suite only needs the command to run.
        const r = spawnSync("sh", ["-c", cmd.replace("echo 3 > /proc/sys/vm/drop_caches", "true")], { env: { ...process.env, PATH: `${dir}:${process.env.PATH ?? ""}` }, encoding: "utf8" });
        return r.stdout + r.stderr;
      },
    };
    let wrote = false;
    const r = await runMicro(shell, { forkExecs: 5, syscalls: 1000, cpuRounds: 100000, diskMiB: 2, diskFile: path.join(dir, "data"), warm: quickWarm }, { afterWrite: async () => void (wrote = true) });
    expect(wrote).toBe(true);
    for (const value of [r.forkExecMs, r.forkExecFirstMs, r.syscallUs, r.cpuNsPerRound, r.writeMBps, r.fsyncMs, r.readMBps]) {
      expect(value).toBeGreaterThan(0);
      expect(Number.isFinite(value)).toBe(true);
    }
  });

  it("reports a failing test as an error naming it", async () => {
    const shell: Shell = { run: async (cmd) => spawnSync("sh", ["-c", cmd], { env: { ...process.env, PATH: `${dir}:${process.env.PATH ?? ""}` }, encoding: "utf8" }).stdout };
    await expect(runMicro(shell, { forkExecs: 1, syscalls: 1, cpuRounds: 1, diskMiB: 1, diskFile: "/nonexistent/dir/file", warm: quickWarm })).rejects.toThrow(/error open 2/);
  });
});
