// The lean UML kernel's own patches (images/uml-kernel/patches), run natively on this machine: the paths
// that 0003 (the timer tick stops a running process only when the kernel has work for it), 0004 (an
// instruction fetch fault skips the stub's round trip) and 0006 (a destroyed address space's host process
// waits for the next one) change, in the cases where they must still act.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildImages } from "../images/build.ts";
import { parentPid, processIds, startNativeUml, type NativeUml } from "./native-uml.ts";

/** A static i386 ELF executable whose one read-only, executable segment holds `code`, entered at its start. */
function tinyElf(code: number[]): Uint8Array {
  const base = 0x08048000;
  const headers = 52 + 32;
  const size = headers + code.length;
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1, 0]); // ELF, 32-bit, little-endian, version 1, System V
  v.setUint16(16, 2, true); // executable
  v.setUint16(18, 3, true); // i386
  v.setUint32(20, 1, true);
  v.setUint32(24, base + headers, true); // entry
  v.setUint32(28, 52, true); // program headers right after this header
  v.setUint16(40, 52, true);
  v.setUint16(42, 32, true);
  v.setUint16(44, 1, true);
  // PT_LOAD of the whole file at `base`, readable and executable.
  for (const [at, value] of [[52, 1], [56, 0], [60, base], [64, base], [68, size], [72, size], [76, 5], [80, 0x1000]] as const) v.setUint32(at, value, true);
  out.set(code, headers);
  return out;
}

/** A shell line that writes `bytes` to `file` with printf's octal escapes (UML's shell has no other way in). */
function writeFileLine(file: string, bytes: Uint8Array): string {
  const escaped = Array.from(bytes, (b) => `\\${b.toString(8).padStart(3, "0")}`).join("");
  return `printf '${escaped}' > ${file} && chmod +x ${file}`;
}

// mov eax, 0x10000000; jmp eax: fetches an instruction from an address no mapping covers.
const JUMP_TO_NOWHERE = [0xb8, 0x00, 0x00, 0x00, 0x10, 0xff, 0xe0];
// mprotect(0x08048000, 4096, PROT_NONE) on its own code, then the next fetch from that page is refused.
const REVOKE_OWN_CODE = [0xb8, 0x7d, 0x00, 0x00, 0x00, 0xbb, 0x00, 0x80, 0x04, 0x08, 0xb9, 0x00, 0x10, 0x00, 0x00, 0x31, 0xd2, 0xcd, 0x80, 0x90, 0x90];

// modify_ldt(0x11, &entry, 16) writes LDT entry 0 (a flat data segment); then %fs is loaded with its selector
// (index 0, LDT, ring 3). Exit status 0 if both worked, 1 if modify_ldt failed.
const LDT_ENTRY_ADDRESS = 0x08048000 + 84 + 54;
const WRITE_AND_LOAD_LDT_ENTRY = [
  0xb8, 0x7b, 0x00, 0x00, 0x00, 0xbb, 0x11, 0x00, 0x00, 0x00, 0xb9, ...le32(LDT_ENTRY_ADDRESS), 0xba, 0x10, 0x00, 0x00, 0x00, 0xcd, 0x80,
  0x85, 0xc0, 0x75, 0x10, // test eax, eax; jnz fail
  0xb8, 0x07, 0x00, 0x00, 0x00, 0x8e, 0xe0, // mov eax, 7; mov fs, eax
  0xb8, 0x01, 0x00, 0x00, 0x00, 0x31, 0xdb, 0xcd, 0x80, // exit(0)
  0xb8, 0x01, 0x00, 0x00, 0x00, 0xbb, 0x01, 0x00, 0x00, 0x00, 0xcd, 0x80, // fail: exit(1)
  ...le32(0), ...le32(0), ...le32(0xfffff), ...le32(0x51), // entry 0, base 0, limit 4 GiB in pages, 32-bit, usable
];
// Loads %fs with LDT entry 0's selector and exits 0: SIGSEGV unless this process's LDT has that entry.
const LOAD_LDT_ENTRY = [0xb8, 0x07, 0x00, 0x00, 0x00, 0x8e, 0xe0, 0xb8, 0x01, 0x00, 0x00, 0x00, 0x31, 0xdb, 0xcd, 0x80];

function le32(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24];
}

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

  it("tinyElf lays out a header, one program header and the code", () => {
    const elf = tinyElf([0x90]);
    expect(elf.length).toBe(85);
    expect(Array.from(elf.subarray(0, 4))).toEqual([0x7f, 0x45, 0x4c, 0x46]);
    expect(new DataView(elf.buffer).getUint32(24, true)).toBe(0x08048000 + 84);
  });

  it("a jump to an unmapped address ends the process with SIGSEGV (an instruction fetch fault without the stub)", async () => {
    await uml.run(writeFileLine("/tmp/jump-to-nowhere", tinyElf(JUMP_TO_NOWHERE)));
    expect(await uml.run("/tmp/jump-to-nowhere; echo status=$?")).toContain("status=139");
  });

  it("a fetch from its own code after mprotect(PROT_NONE) ends the process with SIGSEGV, not a fault loop", async () => {
    await uml.run(writeFileLine("/tmp/revoke-own-code", tinyElf(REVOKE_OWN_CODE)));
    expect(await uml.run("/tmp/revoke-own-code; echo status=$?")).toContain("status=139");
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
