// First checks of an uploaded UML kernel before the host runs it: its ELF headers and UML's own strings,
// then (once the host has run it) its `--version` and `--showconfig` outputs. Pure core.

/** What the upload is, or why the host cannot run it as a UML kernel. */
export type ElfCheck =
  | {
      ok: true;
      /** Has a program interpreter or dynamic section: needs the host's shared libraries. */
      dynamic: boolean;
      /** PT_INTERP, e.g. "/lib/ld-linux.so.2". */
      interpreter?: string;
      /** Always true here: an ELF that does not look like UML is refused as "not-uml". */
      looksLikeUml: boolean;
      size: number;
      /** The newest glibc symbol version a dynamic binary references, e.g. "2.34" (the host's glibc is Debian 12's 2.36). */
      glibc?: string;
    }
  | { ok: false; reason: ElfProblem; message: string };

export type ElfProblem = "empty" | "not-elf" | "64-bit" | "not-x86" | "big-endian" | "not-executable" | "truncated" | "not-uml";

/** The dynamic loader the host has (glibc's, from Debian's i386 libc6). */
export const HOST_INTERPRETER = "/lib/ld-linux.so.2";

const BUILD_HINT = "umlab's host is 32-bit i386 and runs only UML kernels built with `make ARCH=um SUBARCH=i386`.";
const UPLOAD_HINT = "Upload the `linux` executable that `make ARCH=um SUBARCH=i386` leaves at the top of the kernel tree.";

const EM_386 = 3;
const ET_EXEC = 2;
const ET_DYN = 3;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const ELF32_HEADER_SIZE = 52;
const ELF32_PHDR_SIZE = 32;

const MACHINES: ReadonlyMap<number, string> = new Map([
  [2, "SPARC"],
  [3, "i386"],
  [4, "m68k"],
  [8, "MIPS"],
  [20, "PowerPC"],
  [21, "PowerPC64"],
  [22, "S/390"],
  [40, "ARM"],
  [42, "SuperH"],
  [43, "SPARC64"],
  [50, "IA-64"],
  [62, "x86-64"],
  [183, "AArch64"],
  [243, "RISC-V"],
  [258, "LoongArch"],
]);

function machineName(machine: number): string {
  return MACHINES.get(machine) ?? `machine number ${machine}`;
}

const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);

/** Every UML kernel prints this in `--help` (arch/um/kernel/um_arch.c's usage string). */
const UML_USAGE = ascii("User Mode Linux v");
/** Further strings UML always carries: its umid= help text and the embedded config's header. */
const UML_SECOND_MARKERS = [ascii("umid=<name>"), ascii("Linux/um ")];
const LINUX_BANNER = ascii("Linux version ");
const GLIBC_VERSION = ascii("GLIBC_2.");

function indexOfBytes(haystack: Uint8Array, needle: Uint8Array, from = 0): number {
  const first = needle[0];
  if (first === undefined) return from;
  const last = haystack.length - needle.length;
  for (let i = haystack.indexOf(first, from); i !== -1 && i <= last; i = haystack.indexOf(first, i + 1)) {
    let j = 1;
    while (j < needle.length && haystack[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
  }
  return -1;
}

function looksLikeUml(bytes: Uint8Array): boolean {
  return indexOfBytes(bytes, UML_USAGE) !== -1 && UML_SECOND_MARKERS.some((marker) => indexOfBytes(bytes, marker) !== -1);
}

/** The highest "GLIBC_2.x[.y]" version string in the file (the dynamic symbol versions it needs). */
function newestGlibc(bytes: Uint8Array): string | undefined {
  const isVersionByte = (b: number | undefined): boolean => b !== undefined && (b === 0x2e || (b >= 0x30 && b <= 0x39));
  let best: number[] | undefined;
  for (let i = indexOfBytes(bytes, GLIBC_VERSION); i !== -1; i = indexOfBytes(bytes, GLIBC_VERSION, i + 1)) {
    const start = i + GLIBC_VERSION.length;
    let end = start;
    while (end < bytes.length && isVersionByte(bytes[end])) end++;
    const text = "2." + new TextDecoder().decode(bytes.subarray(start, end));
    if (!/^2\.\d+(\.\d+)?$/.test(text)) continue;
    const version = text.split(".").map(Number);
    if (!best || compareVersions(version, best) > 0) best = version;
  }
  return best?.join(".");
}

function compareVersions(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Names a few common non-ELF uploads, so the message says what the file is. */
function describeNonElf(bytes: Uint8Array): string {
  const starts = (...sig: number[]): boolean => sig.every((b, i) => bytes[i] === b);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // "HdrS" at 0x202 is the x86 boot protocol's signature (with or without an EFI "MZ" stub in front).
  if (bytes.length >= 0x206 && view.getUint32(0x202, true) === 0x53726448) {
    return "This is a bzImage, a Linux kernel for a PC or virtual machine (arch/x86/boot/bzImage), not a User Mode Linux kernel.";
  }
  if (starts(0x1f, 0x8b)) return "This is a gzip-compressed file, not a program: unpack it first.";
  if (starts(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) return "This is an xz-compressed file, not a program: unpack it first.";
  if (starts(0x28, 0xb5, 0x2f, 0xfd)) return "This is a zstd-compressed file, not a program: unpack it first.";
  if (starts(0x50, 0x4b, 0x03, 0x04)) return "This is a zip archive, not a program: unpack it first.";
  if (starts(0x23, 0x21)) return "This is a script, not a compiled program.";
  return "This is not an ELF program (it does not start with the ELF signature 7f 45 4c 46).";
}

const fail = (reason: ElfProblem, message: string): ElfCheck => ({ ok: false, reason, message });

/** Reads the ELF header and program headers of an upload and looks for UML's marker strings. */
export function inspectElf(bytes: Uint8Array): ElfCheck {
  const size = bytes.length;
  if (size === 0) return fail("empty", `The file is empty (0 bytes). ${UPLOAD_HINT}`);
  const magic = [0x7f, 0x45, 0x4c, 0x46];
  if (!magic.every((b, i) => i >= size || bytes[i] === b)) return fail("not-elf", `${describeNonElf(bytes)} ${UPLOAD_HINT}`);
  const truncated = (): ElfCheck =>
    fail("truncated", `The file ends inside its ELF headers (it has only ${size} bytes), so the upload is incomplete. Upload the whole file again.`);
  if (size < 6) return truncated();

  const elfClass = bytes[4];
  const data = bytes[5];
  if ((elfClass !== 1 && elfClass !== 2) || (data !== 1 && data !== 2)) {
    return fail("not-elf", `The file starts like an ELF program but its header is damaged (class ${String(elfClass)}, data ${String(data)}). ${UPLOAD_HINT}`);
  }
  const little = data === 1;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const machine = size >= 20 ? view.getUint16(18, little) : undefined;

  if (elfClass === 2) {
    const what = machine === undefined ? "a 64-bit ELF" : `a 64-bit ${machineName(machine)} ELF`;
    const why = machine === 62 ? " (an ARCH=um build for x86_64, or an ordinary program)" : "";
    return fail("64-bit", `This is ${what}${why}. ${BUILD_HINT}`);
  }
  if (machine === undefined) return truncated();
  if (!little) return fail("big-endian", `This is a big-endian ${machineName(machine)} ELF, not i386. ${BUILD_HINT}`);
  if (machine !== EM_386) return fail("not-x86", `This is a 32-bit ${machineName(machine)} ELF, not i386 (x86). ${BUILD_HINT}`);
  if (size < ELF32_HEADER_SIZE) return truncated();

  const type = view.getUint16(16, true);
  if (type !== ET_EXEC && type !== ET_DYN) {
    const kind = type === 1 ? "an object file (.o), not a linked program" : type === 4 ? "a core dump, not a program" : `an ELF file of type ${type}, not a program`;
    return fail("not-executable", `This is ${kind}. ${UPLOAD_HINT}`);
  }

  const phoff = view.getUint32(28, true);
  const phentsize = view.getUint16(42, true);
  const phnum = view.getUint16(44, true);
  if (phnum > 0 && phentsize !== ELF32_PHDR_SIZE) {
    return fail("not-elf", `The ELF header is damaged (program header entries of ${phentsize} bytes instead of 32). ${UPLOAD_HINT}`);
  }
  if (phnum === 0) return fail("not-executable", `This ELF file has no program headers, so it cannot be run. ${UPLOAD_HINT}`);
  if (phoff + phnum * ELF32_PHDR_SIZE > size) return truncated();

  let interpreter: string | undefined;
  let dynamic = false;
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * ELF32_PHDR_SIZE;
    const ptype = view.getUint32(at, true);
    if (ptype === PT_DYNAMIC) dynamic = true;
    if (ptype !== PT_INTERP) continue;
    dynamic = true;
    const offset = view.getUint32(at + 4, true);
    const length = view.getUint32(at + 16, true);
    if (offset + length > size) return truncated();
    // The interpreter path is NUL-terminated inside its segment.
    const raw = bytes.subarray(offset, offset + length);
    const nul = raw.indexOf(0);
    interpreter = new TextDecoder().decode(nul === -1 ? raw : raw.subarray(0, nul));
  }
  if (interpreter !== undefined && interpreter !== HOST_INTERPRETER) {
    return fail(
      "not-executable",
      `This program needs the dynamic loader ${interpreter || "(empty)"}, but umlab's host has only glibc's ${HOST_INTERPRETER}. Build UML against glibc, or link it statically (CONFIG_STATIC_LINK=y).`,
    );
  }

  if (!looksLikeUml(bytes)) {
    // An ordinary kernel's vmlinux carries the banner but none of UML's usage text.
    const what = indexOfBytes(bytes, LINUX_BANNER) !== -1 ? "an i386 Linux kernel for a PC or virtual machine (vmlinux)" : "an i386 program";
    return fail("not-uml", `This is ${what}, but not a User Mode Linux kernel: it lacks the "User Mode Linux v…" usage text every UML kernel carries. ${UPLOAD_HINT}`);
  }
  const glibc = dynamic ? newestGlibc(bytes) : undefined;
  return { ok: true, dynamic, ...(interpreter !== undefined ? { interpreter } : {}), looksLikeUml: true, size, ...(glibc ? { glibc } : {}) };
}

/**
 * The kernel release from `linux --version` (UML prints just the release, e.g. "6.1.176-umlab"), or from
 * the first line of `--help` ("User Mode Linux v6.1.176"); undefined for anything else.
 */
export function parseUmlVersion(output: string): string | undefined {
  for (const raw of output.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "") continue;
    const release = /^(?:User Mode Linux v)?(\d+\.\d+(?:\.\d+)?(?:[-+~][\w.+~-]*)?)$/.exec(line);
    return release?.[1];
  }
  return undefined;
}

/** `linux --showconfig`: CONFIG_X=value lines (string values unquoted) and "# CONFIG_X is not set" as "n". */
export function parseShowconfig(output: string): Map<string, string> {
  const config = new Map<string, string>();
  for (const raw of output.split(/\r?\n/)) {
    const line = raw.trim();
    const unset = /^# (CONFIG_\w+) is not set$/.exec(line);
    if (unset?.[1]) {
      config.set(unset[1], "n");
      continue;
    }
    const set = /^(CONFIG_\w+)=(.*)$/.exec(line);
    if (!set?.[1] || set[2] === undefined) continue;
    const value = set[2];
    const quoted = /^"(.*)"$/.exec(value);
    config.set(set[1], quoted?.[1] !== undefined ? quoted[1].replace(/\\(["\\])/g, "$1") : value);
  }
  return config;
}

/** Options umlab relies on, and what stops working without each. */
const NEEDED_OPTIONS: ReadonlyArray<{ option: string; without: string }> = [
  { option: "CONFIG_BLK_DEV_UBD", without: "UML has no ubd block devices, so it cannot open its root disk and will not boot." },
  { option: "CONFIG_EXT4_FS", without: "UML cannot mount umlab's root filesystem (ext4) and will not boot." },
  { option: "CONFIG_BINFMT_ELF", without: "UML cannot run ELF programs, so not even init starts." },
  { option: "CONFIG_PROC_FS", without: "there is no /proc inside UML: ps, top, mount and the mconsole `proc` command fail." },
  { option: "CONFIG_TMPFS", without: "the root image cannot mount /run and /dev/shm (tmpfs)." },
  { option: "CONFIG_DEVTMPFS_MOUNT", without: "the kernel does not mount devtmpfs on /dev at boot, which umlab's root image relies on, so device nodes are missing." },
  { option: "CONFIG_UNIX98_PTYS", without: "there is no /dev/pts inside UML: ssh logins, script, screen and tmux fail." },
  { option: "CONFIG_NULL_CHAN", without: "the null channel umlab gives unused consoles (con=null, ssl=null) is missing, so UML prints errors about them at boot." },
  { option: "CONFIG_UML_NET_VECTOR", without: "UML has no network: umlab's network device vec0 (the vector transport) does not exist." },
  { option: "CONFIG_HOSTFS", without: "`mount -t hostfs` does not work, so the lab's shared folder cannot be mounted inside UML." },
  { option: "CONFIG_MCONSOLE", without: "the mconsole commands (stop, go, sysrq, config, …) cannot reach this UML." },
  { option: "CONFIG_MAGIC_SYSRQ", without: "the mconsole `sysrq` command answers only \"Sysrq not compiled in\"." },
  { option: "CONFIG_XTERM_CHAN", without: "extra consoles (conN=xterm, the page's new console tabs) cannot open." },
];

/** One warning per option umlab relies on that this kernel lacks (or builds as a module it cannot load). */
export function checkUmlConfig(config: ReadonlyMap<string, string>): string[] {
  if (config.size === 0) return ["The kernel printed no configuration (`--showconfig`), so umlab cannot check which of its features it supports."];
  const warnings: string[] = [];
  for (const { option, without } of NEEDED_OPTIONS) {
    const value = config.get(option);
    if (value === "y") continue;
    const state = value === "m" ? "is built as a module (=m), which umlab's root image does not carry" : "is not set";
    warnings.push(`${option} ${state}: ${without}`);
  }
  if (config.get("CONFIG_64BIT") === "y") warnings.push("CONFIG_64BIT is set: this is a 64-bit UML, which umlab's 32-bit i386 host cannot run.");
  // i386_defconfig turns it on; docs/boot.md ("Known problems") tells the fault loop it leads to.
  if (config.get("CONFIG_VMAP_STACK") === "y") {
    warnings.push("CONFIG_VMAP_STACK is set: UML's kernel stacks then live in vmalloc space, and this UML can hang while it boots (in about half of the boots, inside umlab); the host's watchdog restarts it, which costs 10–20 s each time. Build it with CONFIG_VMAP_STACK=n.");
  }
  return warnings;
}
