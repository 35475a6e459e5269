// The lean UML kernel's own patches (images/uml-kernel/patches), run natively on this machine: the paths
// that 0003 (the timer tick stops a running process only when the kernel has work for it), 0004 (an
// instruction fetch fault skips the stub's round trip) and 0006 (a destroyed address space's host process
// waits for the next one) change, in the cases where they must still act, and 0007's fallback: this
// host does not know umlab's ptrace requests, so UML goes through its stub.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildImages } from "../images/build.ts";
import { fpuPrograms, LOAD_LDT_ENTRY, MEMORY_PROGRAMS, WRITE_LDT_ENTRY_THEN_FORK, programStatuses, runProgramsLine, tinyElf, WRITE_AND_LOAD_LDT_ENTRY, writeFileLine, writeProgramLines } from "./guest-programs.ts";
import { parentPid, processIds, startNativeUml, type NativeUml } from "./native-uml.ts";

/** The host's most recently given pid: how many processes the machine created between two readings. */
async function lastPid(): Promise<number> {
  return Number((await readFile("/proc/sys/kernel/ns_last_pid", "utf8")).trim());
}

/** The live children of `pid` on this machine. */
async function childrenOf(pid: number): Promise<number[]> {
  const children: number[] = [];
  for (const candidate of await processIds()) {
    if ((await parentPid(candidate)) === pid) children.push(candidate);
  }
  return children;
}

describe("the lean UML kernel, natively", { timeout: 120_000 }, () => {
  let uml: NativeUml;

  beforeAll(async () => {
    const steps = await buildImages();
    const kernel = steps.get("uml-kernel");
    const rootfs = steps.get("rootfs");
    if (!kernel || !rootfs) throw new Error("the image build did not report the uml-kernel and rootfs steps");
    uml = await startNativeUml(path.join(kernel, "linux"), path.join(rootfs, "rootfs.ext4"));
  }, 300_000);

  afterAll(async () => {
    await uml?.close();
  });

  it("keeps each process's memory its own and faults as it should, through the stub (this host has no umlab requests)", async () => {
    for (const line of writeProgramLines(MEMORY_PROGRAMS)) await uml.run(line);
    const statuses = programStatuses(await uml.run(runProgramsLine(MEMORY_PROGRAMS)));
    for (const p of MEMORY_PROGRAMS) expect({ what: p.what, status: statuses.get(p.file) }).toEqual({ what: p.what, status: p.status });
  });

  it("keeps each process's FPU and SSE registers: across switches in one host process, signal handlers and a tracer's ptrace", async () => {
    const programs = await fpuPrograms();
    for (const line of writeProgramLines(programs)) await uml.run(line);
    const statuses = programStatuses(await uml.run(runProgramsLine(programs)));
    for (const p of programs) expect({ what: p.what, status: statuses.get(p.file) }).toEqual({ what: p.what, status: p.status });
  });

  it("a busy loop with no system calls is still preempted: sleep returns and kill reaches it", async () => {
    const out = await uml.run("sh -c 'while :; do :; done' & p=$!; sleep 1; kill $p; wait $p; echo status=$?");
    expect(out).toContain("status=143");
  });

  it("a signal raised by the timer tick itself (RLIMIT_CPU's) stops a busy loop", async () => {
    // The tick that finds the CPU limit reached signals the running process: SIGKILL, as ulimit sets the
    // hard limit too (SIGXCPU, 152, if only the soft one were reached).
    const out = await uml.run("sh -c 'ulimit -t 1; while :; do :; done'; echo status=$?");
    expect(out).toMatch(/status=(137|152)/);
  });

  it("fork+exec reuses the host processes of finished ones: 100 fork+execs create far fewer than 200", async () => {
    await uml.run("umlab-bench forkexec 10");
    const before = await lastPid();
    await uml.run("umlab-bench forkexec 100");
    const created = (await lastPid()) - before;
    // Two host processes per fork+exec without the reuse; other work on this machine adds a few of its own.
    expect(created).toBeGreaterThanOrEqual(0);
    expect(created).toBeLessThan(50);
  });

  it("an LDT entry stays with its process: a process that wrote one is not reused, and later ones cannot load it", async () => {
    await uml.run(writeFileLine("/tmp/write-ldt", tinyElf(WRITE_AND_LOAD_LDT_ENTRY)));
    await uml.run(writeFileLine("/tmp/load-ldt", tinyElf(LOAD_LDT_ENTRY)));
    expect(await uml.run("/tmp/write-ldt; echo status=$?")).toContain("status=0");
    const out = await uml.run("for i in 1 2 3 4 5 6; do /tmp/load-ldt; echo status=$?; /tmp/write-ldt; done");
    expect(out.match(/status=\d+/g)).toEqual(Array(6).fill("status=139"));
  });

  it("a process forked from one with an LDT entry inherits the entry", async () => {
    await uml.run(writeFileLine("/tmp/fork-ldt", tinyElf(WRITE_LDT_ENTRY_THEN_FORK)));
    expect(await uml.run("/tmp/fork-ldt; echo status=$?")).toContain("status=0");
  });

  it("halt ends every host process UML started, the waiting ones too", async () => {
    await uml.run("umlab-bench forkexec 10");
    const children = await childrenOf(uml.kernelPid);
    expect(children.length).toBeGreaterThan(2);
    await uml.close();
    const alive = [];
    for (const pid of children) {
      const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
      if (stat && !/\) Z /.test(stat)) alive.push(pid);
    }
    expect(alive).toEqual([]);
  });
});
