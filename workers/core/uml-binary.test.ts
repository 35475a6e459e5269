import { describe, expect, it } from "vitest";
import { checkUmlConfig, inspectElf, parseShowconfig, parseUmlVersion } from "./uml-binary.ts";

// workers/ has no Node typings (it runs in a Web Worker): reach node:fs through Node's builtin loader.
interface TestFs {
  existsSync(path: string): boolean;
  readFileSync(path: string): Uint8Array;
}
const fs = (globalThis as unknown as { process: { getBuiltinModule(id: "node:fs"): TestFs } }).process.getBuiltinModule("node:fs");

const DEBIAN_UML = "/root/.cache/umlab/debs/unpacked/user-mode-linux_6.1um4+b13_i386/usr/bin/linux.uml";
const DEBIAN_UML_MCONSOLE = "/root/.cache/umlab/debs/unpacked/uml-utilities_20070815.4-1_i386/usr/bin/uml_mconsole";

const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);

interface ElfOptions {
  elfClass?: number;
  data?: number;
  type?: number;
  machine?: number;
  interpreter?: string;
  /** Extra bytes after the headers, e.g. UML's marker strings. */
  body?: string;
}

/** A minimal ELF: header, one PT_LOAD (and a PT_INTERP when asked), then the interpreter and body. */
function elf(options: ElfOptions = {}): Uint8Array {
  const interp = options.interpreter === undefined ? undefined : ascii(options.interpreter + "\0");
  const phnum = interp ? 2 : 1;
  const phoff = 52;
  const interpAt = phoff + phnum * 32;
  const body = ascii(options.body ?? "");
  const bytes = new Uint8Array(interpAt + (interp?.length ?? 0) + body.length);
  const view = new DataView(bytes.buffer);
  const little = (options.data ?? 1) === 1;
  bytes.set([0x7f, 0x45, 0x4c, 0x46, options.elfClass ?? 1, options.data ?? 1, 1]);
  view.setUint16(16, options.type ?? 2, little);
  view.setUint16(18, options.machine ?? 3, little);
  view.setUint32(20, 1, little);
  view.setUint32(28, phoff, little);
  view.setUint16(40, 52, little);
  view.setUint16(42, 32, little);
  view.setUint16(44, phnum, little);
  view.setUint32(phoff, 1, little);
  if (interp) {
    view.setUint32(phoff + 32, 3, little);
    view.setUint32(phoff + 32 + 4, interpAt, little);
    view.setUint32(phoff + 32 + 16, interp.length, little);
    bytes.set(interp, interpAt);
  }
  bytes.set(body, interpAt + (interp?.length ?? 0));
  return bytes;
}

const UML_STRINGS = "\0User Mode Linux v%s\n\tavailable at http://user-mode-linux.sourceforge.net/\n\n\0umid=<name>\n\0GLIBC_2.1\0GLIBC_2.34\0GLIBC_2.28\0";

describe("inspectElf", () => {
  it("accepts a static i386 UML executable", () => {
    const bytes = elf({ body: UML_STRINGS });
    expect(inspectElf(bytes)).toEqual({ ok: true, dynamic: false, looksLikeUml: true, size: bytes.length });
  });

  it("accepts a dynamic UML that needs the host's /lib/ld-linux.so.2, and names its newest glibc", () => {
    const bytes = elf({ type: 3, interpreter: "/lib/ld-linux.so.2", body: UML_STRINGS });
    expect(inspectElf(bytes)).toEqual({ ok: true, dynamic: true, interpreter: "/lib/ld-linux.so.2", looksLikeUml: true, size: bytes.length, glibc: "2.34" });
  });

  it("refuses another dynamic loader", () => {
    const check = inspectElf(elf({ interpreter: "/lib/ld-musl-i386.so.1", body: UML_STRINGS }));
    expect(check).toMatchObject({ ok: false, reason: "not-executable" });
    if (!check.ok) expect(check.message).toContain("/lib/ld-musl-i386.so.1");
  });

  it("names 64-bit machines", () => {
    const x86 = inspectElf(elf({ elfClass: 2, machine: 62 }));
    expect(x86).toEqual({
      ok: false,
      reason: "64-bit",
      message:
        "This is a 64-bit x86-64 ELF (an ARCH=um build for x86_64, or an ordinary program). umlab's host is 32-bit i386 and runs only UML kernels built with `make ARCH=um SUBARCH=i386`.",
    });
    expect(inspectElf(elf({ elfClass: 2, machine: 183 }))).toMatchObject({ reason: "64-bit", message: expect.stringContaining("64-bit AArch64 ELF") });
    expect(inspectElf(elf({ elfClass: 2, machine: 999 }))).toMatchObject({ reason: "64-bit", message: expect.stringContaining("machine number 999") });
  });

  it("refuses other 32-bit machines, big-endian files and non-programs", () => {
    expect(inspectElf(elf({ machine: 40 }))).toMatchObject({ reason: "not-x86", message: expect.stringContaining("32-bit ARM ELF") });
    expect(inspectElf(elf({ data: 2, machine: 8 }))).toMatchObject({ reason: "big-endian", message: expect.stringContaining("big-endian MIPS") });
    expect(inspectElf(elf({ data: 2, machine: 20 }))).toMatchObject({ reason: "big-endian", message: expect.stringContaining("PowerPC") });
    expect(inspectElf(elf({ type: 1, body: UML_STRINGS }))).toMatchObject({ reason: "not-executable", message: expect.stringContaining("object file (.o)") });
  });

  it("refuses an i386 program that is not UML", () => {
    expect(inspectElf(elf({ body: "\0hello world\0" }))).toMatchObject({ reason: "not-uml", message: expect.stringContaining("not a User Mode Linux kernel") });
    expect(inspectElf(elf({ body: "\0Linux version 6.1.0 (builder@host) #1\n\0" }))).toMatchObject({ reason: "not-uml", message: expect.stringContaining("Linux kernel for a PC or virtual machine (vmlinux)") });
  });

  it("says when the headers are cut off", () => {
    const whole = elf({ interpreter: "/lib/ld-linux.so.2", body: UML_STRINGS });
    for (const length of [3, 5, 19, 40, 60, 100]) expect(inspectElf(whole.subarray(0, length))).toMatchObject({ ok: false, reason: "truncated" });
    // A 3-byte prefix of the magic is still "truncated", but a wrong first byte is "not-elf".
    expect(inspectElf(new Uint8Array([0x7e, 0x45]))).toMatchObject({ reason: "not-elf" });
  });

  it("refuses empty files, random bytes and common wrong uploads", () => {
    expect(inspectElf(new Uint8Array())).toMatchObject({ ok: false, reason: "empty" });
    const random = new Uint8Array(4096);
    crypto.getRandomValues(random);
    random[0] = 0x00;
    expect(inspectElf(random)).toMatchObject({ ok: false, reason: "not-elf" });
    expect(inspectElf(new Uint8Array([0x1f, 0x8b, 8, 0]))).toMatchObject({ reason: "not-elf", message: expect.stringContaining("gzip") });
    const bzImage = new Uint8Array(0x300).fill(0xff);
    bzImage.set(ascii("HdrS"), 0x202);
    expect(inspectElf(bzImage)).toMatchObject({ reason: "not-elf", message: expect.stringContaining("bzImage") });
  });

  it("refuses this machine's /bin/true (x86-64)", () => {
    expect(inspectElf(fs.readFileSync("/bin/true"))).toMatchObject({ ok: false, reason: "64-bit", message: expect.stringContaining("x86-64") });
  });

  it.skipIf(!fs.existsSync(DEBIAN_UML))("accepts Debian's user-mode-linux 6.1 i386 binary", () => {
    const bytes = fs.readFileSync(DEBIAN_UML);
    expect(inspectElf(bytes)).toEqual({ ok: true, dynamic: true, interpreter: "/lib/ld-linux.so.2", looksLikeUml: true, size: bytes.length, glibc: "2.34" });
  });

  it.skipIf(!fs.existsSync(DEBIAN_UML_MCONSOLE))("refuses Debian's uml_mconsole, an i386 program but not UML", () => {
    expect(inspectElf(fs.readFileSync(DEBIAN_UML_MCONSOLE))).toMatchObject({ ok: false, reason: "not-uml" });
  });
});

describe("parseUmlVersion", () => {
  it("reads what `linux --version` prints", () => {
    // Captured: Debian's linux.uml 6.1um4 and umlab's lean build (CONFIG_LOCALVERSION="-umlab").
    expect(parseUmlVersion("6.1.176\n")).toBe("6.1.176");
    expect(parseUmlVersion("6.1.176-umlab\r\n")).toBe("6.1.176-umlab");
    expect(parseUmlVersion("User Mode Linux v6.1.176\n\tavailable at http://user-mode-linux.sourceforge.net/\n")).toBe("6.1.176");
  });

  it("is undefined for anything else", () => {
    expect(parseUmlVersion("")).toBeUndefined();
    expect(parseUmlVersion("/lab/kernels/x: error while loading shared libraries: libc.so.6: cannot open shared object file\n")).toBeUndefined();
    expect(parseUmlVersion("Usage: true [ignored command line arguments]\n")).toBeUndefined();
  });
});

// Captured from umlab's lean kernel (`linux --showconfig`), cut down.
const LEAN_SHOWCONFIG = `#
# Automatically generated file; DO NOT EDIT.
# Linux/um 6.1.176 Kernel Configuration
#
CONFIG_CC_VERSION_TEXT="gcc (Debian 12.2.0-14+deb12u1) 12.2.0"
CONFIG_LOCALVERSION="-umlab"
# CONFIG_LOCALVERSION_AUTO is not set
CONFIG_HZ=100
CONFIG_UML_X86=y
CONFIG_X86_32=y
CONFIG_HOSTFS=y
CONFIG_MCONSOLE=y
CONFIG_MAGIC_SYSRQ=y
CONFIG_NULL_CHAN=y
# CONFIG_XTERM_CHAN is not set
CONFIG_CON_ZERO_CHAN="fd:0,fd:1"
CONFIG_CON_CHAN="pts"
CONFIG_UML_NET_VECTOR=y
CONFIG_BINFMT_ELF=y
CONFIG_DEVTMPFS=y
CONFIG_DEVTMPFS_MOUNT=y
CONFIG_BLK_DEV_UBD=y
CONFIG_UNIX98_PTYS=y
CONFIG_EXT4_FS=y
CONFIG_PROC_FS=y
CONFIG_TMPFS=y
`;

describe("parseShowconfig", () => {
  it("reads values, unquotes strings and marks unset options as n", () => {
    const config = parseShowconfig(LEAN_SHOWCONFIG);
    expect(config.get("CONFIG_HOSTFS")).toBe("y");
    expect(config.get("CONFIG_HZ")).toBe("100");
    expect(config.get("CONFIG_CON_ZERO_CHAN")).toBe("fd:0,fd:1");
    expect(config.get("CONFIG_LOCALVERSION")).toBe("-umlab");
    expect(config.get("CONFIG_XTERM_CHAN")).toBe("n");
    expect(config.get("CONFIG_64BIT")).toBeUndefined();
    expect(parseShowconfig('CONFIG_X="a \\"b\\""\r\n').get("CONFIG_X")).toBe('a "b"');
  });
});

describe("checkUmlConfig", () => {
  it("warns about the lean kernel's missing xterm channel only", () => {
    expect(checkUmlConfig(parseShowconfig(LEAN_SHOWCONFIG))).toEqual([
      "CONFIG_XTERM_CHAN is not set: extra consoles (conN=xterm, the page's new console tabs) cannot open.",
    ]);
  });

  it("says what breaks without each option", () => {
    const config = parseShowconfig(LEAN_SHOWCONFIG.replace("CONFIG_BLK_DEV_UBD=y", "CONFIG_BLK_DEV_UBD=m").replace("CONFIG_HOSTFS=y\n", ""));
    const warnings = checkUmlConfig(config);
    expect(warnings).toContain(
      "CONFIG_BLK_DEV_UBD is built as a module (=m), which umlab's root image does not carry: UML has no ubd block devices, so it cannot open its root disk and will not boot.",
    );
    expect(warnings.find((w) => w.startsWith("CONFIG_HOSTFS is not set"))).toContain("mount -t hostfs");
    expect(checkUmlConfig(new Map())).toHaveLength(1);
  });

  it("warns about kernel stacks in vmalloc space, which i386_defconfig turns on", () => {
    const warnings = checkUmlConfig(parseShowconfig(`${LEAN_SHOWCONFIG}CONFIG_XTERM_CHAN=y\nCONFIG_VMAP_STACK=y\n`));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^CONFIG_VMAP_STACK is set: .*CONFIG_VMAP_STACK=n\.$/);
    expect(checkUmlConfig(parseShowconfig(`${LEAN_SHOWCONFIG}# CONFIG_VMAP_STACK is not set\n`))).not.toContainEqual(expect.stringMatching(/VMAP_STACK/));
  });
});
