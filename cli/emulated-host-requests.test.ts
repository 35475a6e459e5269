// The lean UML on umlab's own host kernel, in v86: the host's ptrace requests for UML
// (images/host-kernel/patches/0001) and UML's use of them (images/uml-kernel/patches/0007). Each of UML's
// processes keeps its pages in one arena mapping of its host process, and a fault's details, the
// address-space batches and each run of a process take one request instead of a round trip through the
// stub. The same programs as cli/native-uml-kernel.test.ts, which runs them where UML uses the stub.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildImages } from "../images/build.ts";
import { fpuPrograms, LOAD_LDT_ENTRY, MEMORY_PROGRAMS, WRITE_LDT_ENTRY_THEN_FORK, programStatuses, runProgramsLine, tinyElf, WRITE_AND_LOAD_LDT_ENTRY, writeFileLine, writeProgramLines } from "./guest-programs.ts";
import { startEmulatedUml, type EmulatedUml } from "./emulated-uml.ts";

describe("the lean UML on umlab's host kernel", { timeout: 300_000 }, () => {
  let uml: EmulatedUml;

  beforeAll(async () => {
    await buildImages();
    uml = await startEmulatedUml();
  }, 300_000);

  afterAll(async () => {
    await uml?.stop();
  });

  /** The output of a host command that must succeed. */
  const host = async (command: string): Promise<string> => {
    const r = await uml.host(command);
    expect(r.status, `${command}:\n${r.output}`).toBe(0);
    return r.output;
  };

  it("finds the requests when it starts, and says so in its log", async () => {
    expect((await uml.run("dmesg | grep 'ptrace requests'")).output).toContain("Host kernel has umlab's ptrace requests");
  });

  it("keeps each process's memory its own and faults as it should", async () => {
    for (const line of writeProgramLines(MEMORY_PROGRAMS)) expect((await uml.run(line)).status).toBe(0);
    const statuses = programStatuses((await uml.run(runProgramsLine(MEMORY_PROGRAMS))).output);
    for (const p of MEMORY_PROGRAMS) expect({ what: p.what, status: statuses.get(p.file) }).toEqual({ what: p.what, status: p.status });
  });

  it("keeps each process's FPU and SSE registers: across switches in one host process, signal handlers and a tracer's ptrace", async () => {
    // The host's switch request leaves the tracee's FXSR area alone when UML hands back what it read.
    const programs = await fpuPrograms();
    for (const line of writeProgramLines(programs)) expect((await uml.run(line)).status).toBe(0);
    const statuses = programStatuses((await uml.run(runProgramsLine(programs))).output);
    for (const p of programs) expect({ what: p.what, status: statuses.get(p.file) }).toEqual({ what: p.what, status: p.status });
  });

  it("keeps an LDT entry with its process: later processes cannot load it", async () => {
    await uml.run(writeFileLine("/tmp/write-ldt", tinyElf(WRITE_AND_LOAD_LDT_ENTRY)));
    await uml.run(writeFileLine("/tmp/load-ldt", tinyElf(LOAD_LDT_ENTRY)));
    const out = (await uml.run("/tmp/write-ldt; echo status=$?; for i in 1 2 3 4 5 6; do /tmp/load-ldt; echo status=$?; /tmp/write-ldt; done")).output;
    expect(out.match(/status=\d+/g)).toEqual(["status=0", ...Array<string>(6).fill("status=139")]);
  });

  it("gives a process forked from one with an LDT entry the entry too (a host fork of its arena)", async () => {
    await uml.run(writeFileLine("/tmp/fork-ldt", tinyElf(WRITE_LDT_ENTRY_THEN_FORK)));
    expect((await uml.run("/tmp/fork-ldt; echo status=$?")).output).toContain("status=0");
  });

  it("gives each UML process one arena mapping on the host, where ps still shows it", async () => {
    await uml.run("sleep 120 </dev/null >/dev/null 2>&1 &");
    // UML's processes: the host's `linux` processes whose memory is an arena; each maps the arena and
    // the stub's two pages, nothing else.
    const arenas = (await host("grep -l umlab-arena /proc/[0-9]*/maps")).trim().split("\n");
    expect(arenas.length).toBeGreaterThanOrEqual(2);
    for (const maps of arenas) {
      const lines = (await host(`cat ${maps}`)).trim().split("\n");
      expect(lines).toHaveLength(3);
      expect(lines[0]).toMatch(/^00001000-bfffe000 rwxs 00000000 .*\[umlab-arena\]$/);
    }
    const pid = /\/proc\/(\d+)\/maps/.exec(arenas[0] ?? "")?.[1];
    expect(await host(`ps -o pid,comm | grep '^ *${pid} '`)).toMatch(/linux/);
    await uml.run("kill %1; wait");
  });

  it("leaves no page tables behind after many fork+execs", async () => {
    const pageTablesKiB = async (): Promise<number> => Number(/PageTables:\s+(\d+) kB/.exec(await host("cat /proc/meminfo"))?.[1]);
    expect((await uml.run("umlab-bench forkexec 20")).status).toBe(0);
    const before = await pageTablesKiB();
    expect((await uml.run("umlab-bench forkexec 300", 240_000)).status).toBe(0);
    // A page table is 4 KiB: a leak of one per fork+exec would be 1200 KiB.
    expect(await pageTablesKiB()).toBeLessThan(before + 64);
  });
});
