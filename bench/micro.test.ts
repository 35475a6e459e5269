import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { MAX_WARM_ROUNDS, markedCommand, outputBetween, parseBenchLine, runMicro, warmThenMeasure, type BenchLine, type Shell } from "./micro.ts";

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

  it("warms up in quarter rounds until two in a row agree within 15 %, then measures the full count", async () => {
    const s = scripted([100, 50, 30, 27, 20]);
    const r = await warmThenMeasure(s.bench, "forkexec", 40);
    expect(s.asked).toEqual(["forkexec 10", "forkexec 10", "forkexec 10", "forkexec 10", "forkexec 40"]);
    expect(r).toEqual({ line: { test: "forkexec", ops: 40, ns: 800 }, firstPerOp: 100, warmRounds: 4 });
  });

  it("gives up warming after MAX_WARM_ROUNDS rounds that never agree", async () => {
    const s = scripted([100, 50, 100, 50, 100, 50, 100, 50, 100, 50, 7]);
    const r = await warmThenMeasure(s.bench, "syscall", 2);
    expect(r.warmRounds).toBe(MAX_WARM_ROUNDS);
    expect(s.asked).toHaveLength(MAX_WARM_ROUNDS + 1);
    expect(s.asked.at(-1)).toBe("syscall 2");
    expect(s.asked[0]).toBe("syscall 1");
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

// Compiles and runs a real program: generous limits, since a loaded CI machine slows both down.
describe("runMicro with umlab-bench built and run natively", { timeout: 60_000 }, () => {
  const dir = mkdtempSync(path.join(tmpdir(), "umlab-bench-test-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const recipe = path.join(path.dirname(new URL(import.meta.url).pathname), "..", "images", "bench-tool", "build.sh");

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
    const r = await runMicro(shell, { forkExecs: 5, syscalls: 1000, cpuRounds: 100000, diskMiB: 2, diskFile: path.join(dir, "data") }, { afterWrite: async () => void (wrote = true) });
    expect(wrote).toBe(true);
    for (const value of [r.forkExecMs, r.forkExecFirstMs, r.syscallUs, r.cpuNsPerRound, r.writeMBps, r.fsyncMs, r.readMBps]) {
      expect(value).toBeGreaterThan(0);
      expect(Number.isFinite(value)).toBe(true);
    }
  });

  it("reports a failing test as an error naming it", async () => {
    const shell: Shell = { run: async (cmd) => spawnSync("sh", ["-c", cmd], { env: { ...process.env, PATH: `${dir}:${process.env.PATH ?? ""}` }, encoding: "utf8" }).stdout };
    await expect(runMicro(shell, { forkExecs: 1, syscalls: 1, cpuRounds: 1, diskMiB: 1, diskFile: "/nonexistent/dir/file" })).rejects.toThrow(/error open 2/);
  });
});
