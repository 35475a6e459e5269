import { describe, expect, it } from "vitest";
import { MEMORY_PROGRAMS, programStatuses, runProgramsLine, tinyElf, writeFileLine, writeProgramLines } from "./guest-programs.ts";

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

  it("writes each program in a line a terminal takes, runs each once and reads back each status by file", () => {
    for (const line of writeProgramLines(MEMORY_PROGRAMS)) expect(line.length).toBeLessThan(4096);
    const line = runProgramsLine(MEMORY_PROGRAMS);
    for (const p of MEMORY_PROGRAMS) expect(line.split(` ${p.file}`)).toHaveLength(2);
    const statuses = programStatuses("/tmp/a status=139\r\nnoise\n/tmp/b status=21\n");
    expect([...statuses]).toEqual([["/tmp/a", 139], ["/tmp/b", 21]]);
  });
});
