import { describe, expect, it } from "vitest";
import { fpuPrograms, MEMORY_PROGRAMS, programStatuses, runProgramsLine, tinyElf, writeFileLine, writeFileLines, writeProgramLines } from "./guest-programs.ts";

describe("guest programs", () => {
  it("tinyElf lays out a header, one program header and the code", () => {
    const elf = tinyElf([0x90]);
    expect(elf.length).toBe(85);
    expect(Array.from(elf.subarray(0, 4))).toEqual([0x7f, 0x45, 0x4c, 0x46]);
    expect(new DataView(elf.buffer).getUint32(24, true)).toBe(0x08048000 + 84);
  });

  it("writes a file with printf's octal escapes", () => {
    expect(writeFileLine("/tmp/x", new Uint8Array([0, 7, 255]))).toBe("printf '\\000\\007\\377' > /tmp/x && chmod +x /tmp/x");
  });

  it("writes a file in lines ash's editor takes, appending after the first, then makes it executable", () => {
    const lines = writeFileLines("/tmp/x", new Uint8Array(450).fill(1));
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^printf '(\\001){200}' > \/tmp\/x$/);
    expect(lines[1]).toMatch(/^printf '(\\001){200}' >> \/tmp\/x$/);
    expect(lines[2]).toMatch(/^printf '(\\001){50}' >> \/tmp\/x$/);
    expect(lines[3]).toBe("chmod +x /tmp/x");
  });

  it("writes each program in lines ash takes, runs each once and reads back each status by file", () => {
    for (const line of writeProgramLines(MEMORY_PROGRAMS)) expect(line.length).toBeLessThan(1024);
    const line = runProgramsLine(MEMORY_PROGRAMS);
    for (const p of MEMORY_PROGRAMS) expect(line.split(` ${p.file}`)).toHaveLength(2);
    const statuses = programStatuses("/tmp/a status=139\r\nnoise\n/tmp/b status=21\n");
    expect([...statuses]).toEqual([["/tmp/a", 139], ["/tmp/b", 21]]);
  });

  it("assembles the FPU programs from their sources, each small enough for one terminal line", async () => {
    const programs = await fpuPrograms();
    expect(programs.map((p) => p.file)).toEqual(["/tmp/fpu-threads", "/tmp/fpu-signal", "/tmp/fpu-ptrace"]);
    // Each starts with its first instruction: mmap2's or fork's number in eax, and a call to the next instruction.
    expect(programs[0]?.code.slice(0, 5)).toEqual([0xb8, 0xc0, 0x00, 0x00, 0x00]);
    expect(programs[1]?.code.slice(0, 5)).toEqual([0xe8, 0x00, 0x00, 0x00, 0x00]);
    expect(programs[2]?.code.slice(0, 5)).toEqual([0xb8, 0x02, 0x00, 0x00, 0x00]);
    for (const line of writeProgramLines(programs)) expect(line.length).toBeLessThan(1024);
  });
});
