// Tiny i386 programs for UML's memory and process handling, written into UML's /tmp with printf and run
// there: the same programs natively (a host without umlab's ptrace requests, where UML uses its stub)
// and inside v86 (umlab's host kernel, where UML uses the requests and the arena). The short ones are
// machine code here; the longer ones are assembled from cli/guest-programs/*.S when a test runs.
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

/** A static i386 ELF executable whose one read-only, executable segment holds `code`, entered at its start. */
export function tinyElf(code: readonly number[]): Uint8Array {
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
export function writeFileLine(file: string, bytes: Uint8Array): string {
  return `printf '${printfOctal(bytes)}' > ${file} && chmod +x ${file}`;
}

/** `bytes` as printf's octal escapes, which single quotes keep from the shell. */
function printfOctal(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => `\\${b.toString(8).padStart(3, "0")}`).join("");
}

export function le32(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24];
}

// mmap2(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0): a fresh page's address in eax.
const MAP_ANONYMOUS_PAGE = [
  0xb8, 0xc0, 0x00, 0x00, 0x00, 0x31, 0xdb, 0xb9, 0x00, 0x10, 0x00, 0x00, 0xba, 0x03, 0x00, 0x00, 0x00, 0xbe, 0x22, 0x00, 0x00, 0x00,
  0xbf, 0xff, 0xff, 0xff, 0xff, 0x31, 0xed, 0xcd, 0x80,
];

// mov ebx, eax; mov dword [ebx], 42; mprotect(ebx, 4096, PROT_NONE)
const STORE_42_THEN_PROTECT_NONE = [0x89, 0xc3, 0xc7, 0x03, 0x2a, 0x00, 0x00, 0x00, 0xb8, 0x7d, 0x00, 0x00, 0x00, 0xb9, 0x00, 0x10, 0x00, 0x00, 0x31, 0xd2, 0xcd, 0x80];

// mov ebx, [ebx]; exit(ebx)
const EXIT_WITH_WORD_AT_EBX = [0x8b, 0x1b, 0xb8, 0x01, 0x00, 0x00, 0x00, 0xcd, 0x80];

export interface GuestProgram {
  file: string;
  code: number[];
  /** The shell's $? after running it: its exit status, or 128 + the signal that ended it. */
  status: number;
  what: string;
}

/** Programs whose outcome depends only on how UML keeps its processes' memory on the host. */
export const MEMORY_PROGRAMS: readonly GuestProgram[] = [
  {
    file: "/tmp/jump-to-nowhere",
    what: "a jump to an unmapped address ends in SIGSEGV (an instruction fetch fault)",
    // mov eax, 0x10000000; jmp eax
    code: [0xb8, 0x00, 0x00, 0x00, 0x10, 0xff, 0xe0],
    status: 139,
  },
  {
    file: "/tmp/revoke-own-code",
    what: "a fetch from its own code after mprotect(PROT_NONE) ends in SIGSEGV, not a fault loop",
    // mprotect(0x08048000, 4096, PROT_NONE) on its own code, then the next fetch from that page is refused.
    code: [0xb8, 0x7d, 0x00, 0x00, 0x00, 0xbb, 0x00, 0x80, 0x04, 0x08, 0xb9, 0x00, 0x10, 0x00, 0x00, 0x31, 0xd2, 0xcd, 0x80, 0x90, 0x90],
    status: 139,
  },
  {
    file: "/tmp/write-own-code",
    what: "a write to its own read-only code ends in SIGSEGV (a write fault on a present page)",
    // mov [0x08048000], eax; exit(0)
    code: [0xa3, 0x00, 0x80, 0x04, 0x08, 0xb8, 0x01, 0x00, 0x00, 0x00, 0x31, 0xdb, 0xcd, 0x80],
    status: 139,
  },
  {
    file: "/tmp/protect-none-read",
    what: "a read of a page made PROT_NONE ends in SIGSEGV",
    code: [...MAP_ANONYMOUS_PAGE, ...STORE_42_THEN_PROTECT_NONE, ...EXIT_WITH_WORD_AT_EBX],
    status: 139,
  },
  {
    file: "/tmp/protect-none-then-read",
    what: "a page made PROT_NONE and then PROT_READ again reads back what was written to it",
    // ... then mprotect(ebx, 4096, PROT_READ) before the read
    code: [
      ...MAP_ANONYMOUS_PAGE,
      ...STORE_42_THEN_PROTECT_NONE,
      ...[0xb8, 0x7d, 0x00, 0x00, 0x00, 0xb9, 0x00, 0x10, 0x00, 0x00, 0xba, 0x01, 0x00, 0x00, 0x00, 0xcd, 0x80],
      ...EXIT_WITH_WORD_AT_EBX,
    ],
    status: 42,
  },
  {
    file: "/tmp/fork-copy-on-write",
    what: "after fork, a child's write to a shared page is its own: the child exits 2, the parent still reads 1 (21)",
    // mov esi, eax; [esi] = 1; fork; child: [esi] = 2, exit([esi]); parent: waitpid(-1, &s, 0),
    // exit(WEXITSTATUS(s) * 10 + [esi])
    code: [
      ...MAP_ANONYMOUS_PAGE,
      ...[0x89, 0xc6, 0xc7, 0x06, 0x01, 0x00, 0x00, 0x00, 0xb8, 0x02, 0x00, 0x00, 0x00, 0xcd, 0x80, 0x85, 0xc0, 0x75, 0x0f],
      ...[0xc7, 0x06, 0x02, 0x00, 0x00, 0x00, 0x8b, 0x1e, 0xb8, 0x01, 0x00, 0x00, 0x00, 0xcd, 0x80],
      ...[0x83, 0xec, 0x04, 0xb8, 0x07, 0x00, 0x00, 0x00, 0xbb, 0xff, 0xff, 0xff, 0xff, 0x89, 0xe1, 0x31, 0xd2, 0xcd, 0x80],
      ...[0x8b, 0x04, 0x24, 0xc1, 0xe8, 0x08, 0x25, 0xff, 0x00, 0x00, 0x00, 0x6b, 0xc0, 0x0a, 0x03, 0x06, 0x89, 0xc3, 0xb8, 0x01, 0x00, 0x00, 0x00, 0xcd, 0x80],
    ],
    status: 21,
  },
];

// modify_ldt(0x11, &entry, 16) writes LDT entry 0 (a flat data segment); then %fs is loaded with its selector
// (index 0, LDT, ring 3). Exit status 0 if both worked, 1 if modify_ldt failed.
const LDT_ENTRY_ADDRESS = 0x08048000 + 84 + 54;
export const WRITE_AND_LOAD_LDT_ENTRY = [
  0xb8, 0x7b, 0x00, 0x00, 0x00, 0xbb, 0x11, 0x00, 0x00, 0x00, 0xb9, ...le32(LDT_ENTRY_ADDRESS), 0xba, 0x10, 0x00, 0x00, 0x00, 0xcd, 0x80,
  0x85, 0xc0, 0x75, 0x10, // test eax, eax; jnz fail
  0xb8, 0x07, 0x00, 0x00, 0x00, 0x8e, 0xe0, // mov eax, 7; mov fs, eax
  0xb8, 0x01, 0x00, 0x00, 0x00, 0x31, 0xdb, 0xcd, 0x80, // exit(0)
  0xb8, 0x01, 0x00, 0x00, 0x00, 0xbb, 0x01, 0x00, 0x00, 0x00, 0xcd, 0x80, // fail: exit(1)
  ...le32(0), ...le32(0), ...le32(0xfffff), ...le32(0x51), // entry 0, base 0, limit 4 GiB in pages, 32-bit, usable
];
// Writes LDT entry 0 as above, then forks; the child loads %fs with its selector and exits 0. Exits 0 if the
// child did (it inherited the entry), 2 if the child failed, 1 if modify_ldt failed.
const FORKED_LDT_ENTRY_ADDRESS = 0x08048000 + 84 + 107;
export const WRITE_LDT_ENTRY_THEN_FORK = [
  0xb8, 0x7b, 0x00, 0x00, 0x00, 0xbb, 0x11, 0x00, 0x00, 0x00, 0xb9, ...le32(FORKED_LDT_ENTRY_ADDRESS), 0xba, 0x10, 0x00, 0x00, 0x00, 0xcd, 0x80,
  0x85, 0xc0, 0x75, 0x45, // test eax, eax; jnz fail
  0xb8, 0x02, 0x00, 0x00, 0x00, 0xcd, 0x80, 0x85, 0xc0, 0x75, 0x10, // fork; test eax, eax; jnz parent
  0xb8, 0x07, 0x00, 0x00, 0x00, 0x8e, 0xe0, 0xb8, 0x01, 0x00, 0x00, 0x00, 0x31, 0xdb, 0xcd, 0x80, // child: mov fs, 7; exit(0)
  // parent: waitpid(-1, &status, 0); exit(status ? 2 : 0)
  0x83, 0xec, 0x04, 0xb8, 0x07, 0x00, 0x00, 0x00, 0xbb, 0xff, 0xff, 0xff, 0xff, 0x89, 0xe1, 0x31, 0xd2, 0xcd, 0x80,
  0xbb, 0x00, 0x00, 0x00, 0x00, 0x83, 0x3c, 0x24, 0x00, 0x74, 0x05, 0xbb, 0x02, 0x00, 0x00, 0x00, 0xb8, 0x01, 0x00, 0x00, 0x00, 0xcd, 0x80,
  0xb8, 0x01, 0x00, 0x00, 0x00, 0xbb, 0x01, 0x00, 0x00, 0x00, 0xcd, 0x80, // fail: exit(1)
  ...le32(0), ...le32(0), ...le32(0xfffff), ...le32(0x51),
];
// Loads %fs with LDT entry 0's selector and exits 0: SIGSEGV unless this process's LDT has that entry.
export const LOAD_LDT_ENTRY = [0xb8, 0x07, 0x00, 0x00, 0x00, 0x8e, 0xe0, 0xb8, 0x01, 0x00, 0x00, 0x00, 0x31, 0xdb, 0xcd, 0x80];

/** The sources of the longer programs, in i386 assembly: cli/guest-programs/<name>.S. */
const SOURCES = path.join(path.dirname(fileURLToPath(import.meta.url)), "guest-programs");
const execFileAsync = promisify(execFile);

/**
 * The code of cli/guest-programs/<name>.S: assembled by binutils' `as` (gcc-multilib, which the image build
 * needs, brings it), position-independent and in one section, so no linker is needed.
 */
export async function assembleProgram(name: string): Promise<number[]> {
  const dir = await mkdtemp(path.join(tmpdir(), "umlab-asm-"));
  try {
    const object = path.join(dir, `${name}.o`);
    const code = path.join(dir, `${name}.bin`);
    await execFileAsync("as", ["--32", "-I", SOURCES, "-o", object, path.join(SOURCES, `${name}.S`)]);
    await execFileAsync("objcopy", ["-O", "binary", "-j", ".text", object, code]);
    return Array.from(await readFile(code));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Programs whose FPU and SSE registers must survive what UML does between two runs of a process: its
 * switch to another process that shares the same host process, a signal handler's return, and a tracer
 * reading and writing them.
 */
export async function fpuPrograms(): Promise<GuestProgram[]> {
  const programs: [name: string, what: string][] = [
    ["fpu-threads", "two processes sharing one address space (one host process) each keep their own xmm0 and st0 across 200 sched_yield()s"],
    ["fpu-signal", "xmm0 and st0 are back after a signal handler that changed them returns"],
    ["fpu-ptrace", "a tracer reads its stopped child's xmm0 and st0 and writes them with ptrace, and keeps its own"],
  ];
  return Promise.all(programs.map(async ([name, what]) => ({ file: `/tmp/${name}`, what, code: await assembleProgram(name), status: 0 })));
}

/** Bytes per shell line: ash's line editor (busybox's FEATURE_EDITING_MAX_LEN) takes 1024 characters. */
const BYTES_PER_LINE = 200;

/** Shell lines that write `bytes` to `file`, in pieces short enough for ash, the last one making it executable. */
export function writeFileLines(file: string, bytes: Uint8Array): string[] {
  const lines: string[] = [];
  for (let at = 0; at < bytes.length; at += BYTES_PER_LINE) {
    lines.push(`printf '${printfOctal(bytes.subarray(at, at + BYTES_PER_LINE))}' ${at === 0 ? ">" : ">>"} ${file}`);
  }
  lines.push(`chmod +x ${file}`);
  return lines;
}

/** Shell lines that write the programs. */
export function writeProgramLines(programs: readonly GuestProgram[]): string[] {
  return programs.flatMap((p) => writeFileLines(p.file, tinyElf(p.code)));
}

/** One shell line that runs each written program, printing `<file> status=<$?>` for each. */
export function runProgramsLine(programs: readonly GuestProgram[]): string {
  return `for p in ${programs.map((p) => p.file).join(" ")}; do "$p"; echo "$p status=$?"; done`;
}

/** The statuses `runProgramsLine`'s output reports, by file. */
export function programStatuses(output: string): Map<string, number> {
  return new Map([...output.matchAll(/^(\/\S+) status=(\d+)/gm)].map((m) => [m[1] ?? "", Number(m[2])]));
}
