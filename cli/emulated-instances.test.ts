// Several UMLs on one virtual switch, against the real thing: UML in v86 (restored from the snapshot)
// starts instances beside itself through UmlControl, as the worker does. Each has its own umid, COW file
// and console (a multiplexer channel); host bridge br0 joins their tap devices, so the main UML pings an
// instance and fetches a page from the httpd running in it. An instance's COW file is its region of the
// state disk, so what it writes outlives the machine, as the main UML's does.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildImages } from "../images/build.ts";
import { createStateDisk, instanceCow, releaseBacking, type BackingFile } from "../workers/core/state-disk.ts";
import type { PersistentOverlay } from "../workers/disk/persistent-overlay.ts";
import { COW_HEADER_SIZE, parseCowHeader } from "../workers/disk/uml-cow.ts";
import { defaultImagesDir, loadManifest } from "./node-machine.ts";
import { startEmulatedUml, until, type EmulatedUml } from "./emulated-uml.ts";

describe("UML instances on one switch inside the emulator", { timeout: 900_000 }, () => {
  let uml: EmulatedUml;
  let disk: PersistentOverlay;
  let backing: BackingFile;

  beforeAll(async () => {
    await buildImages();
    backing = releaseBacking(await loadManifest(defaultImagesDir()));
    disk = createStateDisk(backing);
    uml = await startEmulatedUml({ stateDisk: disk });
  }, 300_000);

  afterAll(async () => {
    await uml?.stop();
  });

  const instance = (n: number) => uml.instance(n);
  const running = (n: number) => uml.instanceRunning(n);
  const inInstance = (n: number, command: string, expected: RegExp) => uml.typeInInstance(n, command, expected);
  const addressOf = (n: number) => uml.instanceAddress(n);

  it("starts instance 2 with its own umid, console, hostname and COW, on its own tap port", async () => {
    const main = uml.control.state.umid;
    expect(await uml.control.startInstance()).toBe(2);
    const two = await running(2);
    expect(two).toMatchObject({ n: 2, name: "uml2", tap: "tap2", mac: "52:54:00:12:35:02" });
    expect(two.umid).toMatch(/^inst2-[0-9a-f]{8}$/);
    expect(two.umid).not.toBe(main);
    expect(uml.consoles.get(two.channel ?? -1)?.title).toContain(`(${two.umid})`);
    await inInstance(2, "hostname; cat /proc/cmdline", /uml2\r\n.*ubd0=\/dev\/loop2,\/images\//s);
    // Its mconsole is its own: the main UML's stays the main UML's.
    const version = await uml.control.mconsole("config con0", 2);
    expect(version).toMatchObject({ ok: true, text: "xterm" });
    expect((await uml.control.mconsole("config con0")).text).toBe("fd:0,fd:1");
  });

  it("the main UML pings instance 2 and fetches a page from the httpd in it, and instance 2 pings back", async () => {
    const two = await addressOf(2);
    const main = /inet (10\.0\.2\.\d+)/.exec((await uml.run("ip -4 -o addr show eth0")).output)?.[1];
    expect(main).toBeDefined();
    expect(two).not.toBe(main);
    await inInstance(2, "mkdir -p /srv/www && echo served-by-$(hostname) > /srv/www/index.html && httpd -p 80 -h /srv/www; echo httpd=$?", /httpd=0/);
    const ping = await uml.run(`ping -c 3 -W 5 ${two}`, 60_000);
    expect(ping.output).toMatch(/3 packets transmitted, 3 packets received/);
    const page = await uml.run(`wget -q -O - http://${two}/index.html`, 60_000);
    expect(page).toEqual({ status: 0, output: "served-by-uml2\n" });
    await inInstance(2, `ping -c 2 -W 5 ${main ?? ""}; echo ping=$?`, /ping=0/);
  });

  it("runs a third instance on the same switch, and refuses one the host has no memory for", async () => {
    expect(await uml.control.startInstance()).toBe(3);
    await running(3);
    const two = await addressOf(2);
    await inInstance(3, `wget -q -O - http://${two}/index.html`, /served-by-uml2/);
    await expect(uml.control.startInstance()).rejects.toThrow(/MiB for UML/);
    await expect(uml.control.startInstance({ n: 2 })).rejects.toThrow(/already running/);
  });

  it("stopping an instance halts it; started again it boots from the COW it wrote", async () => {
    await inInstance(2, "echo kept-on-cow > /root/kept && sync; echo sync=$?", /sync=0/);
    await uml.control.stopInstance(2);
    await until(() => `instance 2 halted (now ${instance(2)?.state ?? "absent"})`, () => instance(2)?.state === "halted", 60_000);
    expect(instance(2)?.exitStatus).toBe(0);
    expect(await uml.control.mconsole("version", 2)).toMatchObject({ ok: false, text: "Instance 2 is not running." });
    expect(await uml.control.startInstance({ n: 2 })).toBe(2);
    await running(2);
    await inInstance(2, "cat /root/kept", /kept-on-cow/);
    // The main UML carried on throughout.
    expect((await uml.run("echo main-still-here")).output).toBe("main-still-here\n");
  });

  it("an instance's COW file is its region of the state disk: a new machine on the stored blocks boots it with its file", async () => {
    // The write reached region 1 (instance 2's) as a UML COW file over the release image, with sectors copied.
    const cow = instanceCow(disk, backing, 2);
    const header = parseCowHeader(cow.read(0, COW_HEADER_SIZE));
    expect(header.backingFile).toBe(`/images/${backing.file}`);
    expect(cow.read(header.layout.bitmapOffset, header.layout.bitmapLength).some((b) => b !== 0)).toBe(true);
    await uml.control.stopInstance(2);
    await uml.control.stopInstance(3);
    await until(() => "instances 2 and 3 halted", () => instance(2)?.state === "halted" && instance(3)?.state === "halted", 60_000);
    await uml.stop();
    // What the worker loads from IndexedDB: the blocks the disk stored, nothing of the old machine's memory.
    const stored = createStateDisk(backing, { stored: new Map(disk.storedBlocks) });
    uml = await startEmulatedUml({ start: "cold", stateDisk: stored });
    expect(await uml.control.startInstance({ n: 2 })).toBe(2);
    await running(2);
    await inInstance(2, "cat /root/kept", /kept-on-cow/);
  });
});
