// The UML toolkit against the real thing: UML in v86 (restored from the snapshot) driven through
// UmlControl, as the worker drives it. The real uml_mconsole on the host, hostfs on v86's 9p share,
// a ubd disk hot-added from the share, an extra console through UML's xterm channel, a sysrq crash and
// a restart, an uploaded kernel (Debian's UML) booting in place, and a changed command line.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildImages } from "../images/build.ts";
import { checkUmlConfig, parseShowconfig } from "../workers/core/uml-binary.ts";
import { startEmulatedUml, until, type EmulatedUml } from "./emulated-uml.ts";

describe("the UML toolkit inside the emulator", { timeout: 600_000 }, () => {
  let uml: EmulatedUml;
  let debianKernel = "";
  let leanModules = "";

  beforeAll(async () => {
    const steps = await buildImages();
    const debian = steps.get("uml-debian");
    if (!debian) throw new Error("the image build did not report the uml-debian step");
    debianKernel = path.join(debian, "linux");
    const lean = steps.get("uml-kernel");
    if (!lean) throw new Error("the image build did not report the uml-kernel step");
    leanModules = path.join(lean, "modules", "lib", "modules");
    uml = await startEmulatedUml();
  }, 300_000);

  afterAll(async () => {
    await uml?.stop();
  });

  const state = (): string | undefined => uml.control.state.state;
  const ready = (): Promise<unknown> =>
    until(() => `UML at its shell; states ${uml.states.map((s) => s.state).join(" → ")}; UML's console ends:\n${uml.transcript().slice(-1500)}`, () => state() === "running" && uml.machine.stage === "ready", 240_000);

  it("runs the real uml_mconsole: version, help, proc, stack, sysrq, config queries", async () => {
    const version = await uml.control.mconsole("version");
    expect(version).toMatchObject({ ok: true, command: "version" });
    expect(version.text).toMatch(/6\.1\.\d+/);
    expect((await uml.control.mconsole("help")).text).toMatch(/sysrq/);
    expect((await uml.control.mconsole("proc meminfo")).text).toMatch(/MemTotal:/);
    expect((await uml.control.mconsole("stack 1")).ok).toBe(true);
    const sysrq = await uml.control.mconsole("sysrq m");
    expect(sysrq.ok).toBe(true);
    expect(sysrq.text).toMatch(/Mem-Info|memory/i);
    expect((await uml.control.mconsole("config con0")).text).toBe("fd:0,fd:1");
    // Refused before the host sees it, with a message naming the valid commands.
    const bad = await uml.control.mconsole("frobnicate");
    expect(bad.ok).toBe(false);
    expect(bad.text).toMatch(/version/);
  });

  it("shares files with UML through hostfs, confined to the share", async () => {
    const share = uml.control.share();
    await share.put("/share/hello.txt", new TextEncoder().encode("hello from the page\n"));
    const read = await uml.run("mkdir -p /mnt/host && mount none /mnt/host -t hostfs -o /share && cat /mnt/host/hello.txt");
    expect(read.output).toContain("hello from the page");
    await uml.run("echo written by UML > /mnt/host/from-uml.txt && sync");
    expect(new TextDecoder().decode(await share.read("/share/from-uml.txt"))).toBe("written by UML\n");
    expect(share.list().map((e) => e.path)).toEqual(expect.arrayContaining(["/share/hello.txt", "/share/from-uml.txt"]));
    await uml.run("umount /mnt/host");
  });

  it("loads a module put into the share through hostfs with insmod, and unloads it", async () => {
    // A module built with the lean kernel, as a workshop would build its own against the same tree.
    const [release = ""] = readdirSync(leanModules);
    const module = readFileSync(path.join(leanModules, release, "kernel", "drivers", "net", "dummy.ko"));
    await uml.control.share().put("/share/mods/dummy.ko", new Uint8Array(module));
    expect((await uml.run("lsmod | grep -c '^dummy'")).output).toBe("0\n");
    const loaded = await uml.run("mkdir -p /mnt/host && mount none /mnt/host -t hostfs -o /share && insmod /mnt/host/mods/dummy.ko && lsmod | grep -c '^dummy' && ip link show dummy0 | grep -c dummy0");
    expect(loaded).toEqual({ status: 0, output: "1\n1\n" });
    expect(await uml.run("rmmod dummy && umount /mnt/host && lsmod | grep -c '^dummy'")).toEqual({ status: 1, output: "0\n" });
  });

  it("hot-adds a ubd disk from the share, mounts it, refuses to remove it while busy, then removes it", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "umlab-disk-"));
    mkdirSync(path.join(dir, "content"));
    writeFileSync(path.join(dir, "content", "inside.txt"), "on the hot-added disk\n");
    execFileSync("mke2fs", ["-q", "-F", "-t", "ext2", "-d", path.join(dir, "content"), path.join(dir, "disk.img"), "4M"]);
    await uml.control.share().put("/disks/disk.img", new Uint8Array(readFileSync(path.join(dir, "disk.img"))));
    const add = await uml.control.mconsole("config ubd1=/lab/disks/disk.img");
    expect(add).toMatchObject({ ok: true });
    const mounted = await uml.run("mkdir -p /mnt/d && mount /dev/ubdb /mnt/d && cat /mnt/d/inside.txt");
    expect(mounted.output).toContain("on the hot-added disk");
    const busy = await uml.control.mconsole("remove ubd1");
    expect(busy.ok).toBe(false);
    expect(busy.text).toBe("Device is currently open");
    await uml.run("umount /mnt/d");
    expect(await uml.control.mconsole("remove ubd1")).toMatchObject({ ok: true });
    expect((await uml.run("test -b /dev/ubdb; echo $?")).output.trim()).toBe("1");
  });

  it("stop pauses UML until go", async () => {
    expect((await uml.control.mconsole("stop")).ok).toBe(true);
    expect(state()).toBe("paused");
    const answered = uml.run("echo after-go");
    // Paused: the shell does not answer (a bounded negative check; the positive one follows `go`).
    const early = await Promise.race([answered.then(() => "answered"), new Promise((r) => setTimeout(() => r("silent"), 2000))]);
    expect(early).toBe("silent");
    expect((await uml.control.mconsole("go")).ok).toBe(true);
    expect(state()).toBe("running");
    expect((await answered).output).toContain("after-go");
  });

  it("restarts a UML that stopped reading its clock line, and the new UML does not take the old one's poweroff", async () => {
    // A stopped UML reads nothing, like one stalled in its in-place reboot (the CI failure this covers):
    // the host agent's restart writes "poweroff" to the clock line, waits 30 s, and kills it.
    expect((await uml.control.mconsole("stop")).ok).toBe(true);
    expect(await uml.machine.agentRequest("restart - - -", 120_000)).toBe("ok restart");
    await ready();
    // umlab-clock starts umlab-clockd just before it reads its first line, so a stale poweroff would be
    // acted on right after this; a bounded wait then shows the UML stayed up.
    let helper = "";
    for (let i = 0; i < 30 && !helper.includes("clockd-up"); i++) helper = (await uml.run("pidof umlab-clockd >/dev/null && echo clockd-up || sleep 1")).output;
    expect(helper).toContain("clockd-up");
    await new Promise((r) => setTimeout(r, 3000));
    expect((await uml.run("echo still-up")).output).toContain("still-up");
    expect(state()).toBe("running");
  });

  it("opens another console through UML's xterm channel, with the page's size", async () => {
    const n = await uml.control.openConsole();
    const [channel] = await until("the console's tab", () => [...uml.consoles].find(([, c]) => c.title.includes(`#${n}`)));
    uml.control.muxResize(channel, 100, 30);
    await until("a shell on the new console", () => uml.consoles.get(channel)?.text.includes("root@umlab:~# "));
    uml.control.muxInput(channel, new TextEncoder().encode("stty size\n"));
    await until(() => `stty size on the new console, which shows:\n${uml.consoles.get(channel)?.text.slice(-600) ?? ""}`, () => uml.consoles.get(channel)?.text.includes("30 100"));
    // The login started by umlab-clock gets SIGPIPE's default action (bit 13 of SigIgn clear), so pipes
    // into `head` behave as on any Linux.
    uml.control.muxInput(channel, new TextEncoder().encode("grep SigIgn /proc/$$/status\n"));
    const ignored = await until("the console shell's SigIgn", () => /SigIgn:\s+([0-9a-f]{16})/.exec(uml.consoles.get(channel)?.text ?? "")?.[1]);
    expect(BigInt(`0x${ignored}`) & (1n << 12n)).toBe(0n);
  });

  it("survives a sysrq crash: UML's panic is reported and a restart brings it back", async () => {
    void uml.run("echo c > /proc/sysrq-trigger", 5_000).catch(() => undefined);
    await until(() => `the crash; UML's console ends:\n${uml.transcript().slice(-1500)}`, () => state() === "crashed");
    expect(uml.control.state.panic).toMatch(/Kernel panic/);
    expect(uml.control.state.panic).toMatch(/sysrq/i);
    await uml.control.restart();
    await ready();
    expect((await uml.run("echo alive again")).output).toContain("alive again");
  });

  it("halts from mconsole and starts again", async () => {
    void uml.control.mconsole("halt");
    await until("the halt", () => state() === "halted");
    expect(uml.control.state.exitStatus).toBe(0);
    await uml.control.restart({ cmdline: "mem=96M quiet" });
    await ready();
    const mem = await uml.run("grep MemTotal /proc/meminfo");
    const kib = Number(/MemTotal:\s+(\d+)/.exec(mem.output)?.[1]);
    expect(kib).toBeGreaterThan(80 * 1024);
    expect(kib).toBeLessThanOrEqual(96 * 1024);
  });

  it("the lean kernel passes umlab's own checks of an uploaded kernel's configuration", async () => {
    // Built with every option umlab relies on, and without VMAP_STACK (the boot wedge, docs/boot.md).
    expect(checkUmlConfig(parseShowconfig(await uml.control.kernelConfig("lean")))).toEqual([]);
  });

  it("refuses a bad command line, an x86_64 binary and a non-UML file with clear messages", async () => {
    const check = uml.control.checkCmdline("mem=4G umid=mine");
    expect(check.ok).toBe(false);
    await expect(uml.control.restart({ cmdline: "mem=4G" })).rejects.toThrow(/mem/);
    const x64 = await uml.control.uploadKernel("true64", new Uint8Array(readFileSync("/bin/true")));
    expect(x64).toMatchObject({ ok: false });
    expect(x64.ok ? "" : x64.message).toMatch(/64-bit/);
    const junk = await uml.control.uploadKernel("junk", new TextEncoder().encode("not a kernel at all"));
    expect(junk.ok).toBe(false);
  });

  it("boots an uploaded UML kernel (Debian's) in place of the lean one", async () => {
    const upload = await uml.control.uploadKernel("linux-debian", new Uint8Array(readFileSync(debianKernel)));
    if (!upload.ok) throw new Error(upload.message);
    expect(upload.version).toMatch(/6\.1/);
    expect(upload.config).toMatch(/CONFIG_HOSTFS=y/);
    // Debian builds its UML without vmalloc'd stacks, so it cannot wedge the way i386_defconfig's can.
    expect(parseShowconfig(upload.config).get("CONFIG_VMAP_STACK")).toBe("n");
    expect(upload.warnings.filter((w) => w.includes("VMAP_STACK"))).toEqual([]);
    await uml.control.restart({ kernel: "upload:linux-debian", cmdline: "mem=64M quiet" });
    await ready();
    expect(uml.control.state.kernel).toBe("upload:linux-debian");
    // Debian's release has no "-umlab" suffix.
    expect((await uml.control.mconsole("version")).text).toMatch(/^Linux umlab 6\.1\.\d+ #/);
    expect((await uml.run("uname -r")).output.trim()).toMatch(/^6\.1\.\d+$/);
  });
});
