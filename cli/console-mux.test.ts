// UML's classic xterm consoles (conN=xterm, mconsole `config conN=xterm`) through the real umlab-term and
// umlab-mux, driven by the worker's ConsoleMux: Debian's UML run natively on this machine, the mux on a
// pipe instead of the host's /dev/hvc2.
import { execFile, spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readdir, rename, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readLock, type PinnedPackage } from "../images/pipeline/packages.ts";
import { ConsoleMux } from "../workers/core/console-mux.ts";
import { startNativeUml, type NativeUml } from "./native-uml.ts";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");
const sharedCache = process.env.UMLAB_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(process.env.HOME ?? "/tmp", ".cache"), "umlab");
const run = promisify(execFile);

/** Where images/build.ts unpacked a pinned Debian package (the same name its fetcher uses). */
function unpacked(pins: PinnedPackage[], name: string): string {
  const p = pins.find((pin) => pin.name === name);
  if (!p) throw new Error(`images/debian-packages.lock does not pin ${name}`);
  return path.join(sharedCache, "debs", "unpacked", `${p.name}_${p.version.replace(/:/g, "%3a")}_${p.arch}`);
}

/** The root image of the newest complete rootfs step: the clone's build, else the shared cache's. */
async function findRootImage(): Promise<string | undefined> {
  const newest = async (dir: string): Promise<string | undefined> => {
    if (!existsSync(dir)) return undefined;
    let best: { name: string; mtime: number } | undefined;
    for (const name of await readdir(dir)) {
      if (!/^rootfs-[0-9a-f]+$/.test(name) || !existsSync(path.join(dir, name, ".complete")) || !existsSync(path.join(dir, name, "rootfs.ext4"))) continue;
      const mtime = (await stat(path.join(dir, name, ".complete"))).mtimeMs;
      if (!best || mtime > best.mtime) best = { name, mtime };
    }
    return best?.name;
  };
  const shared = path.join(sharedCache, "steps");
  const local = await newest(path.join(root, "images", ".work", "cache"));
  // The shared cache's copy of the same step: a concurrent image build never prunes it.
  if (local) return path.join(existsSync(path.join(shared, local, "rootfs.ext4")) ? shared : path.join(root, "images", ".work", "cache"), local, "rootfs.ext4");
  const fallback = await newest(shared);
  return fallback ? path.join(shared, fallback, "rootfs.ext4") : undefined;
}

const pins = await readLock(path.join(root, "images", "debian-packages.lock"));
const debianUml = path.join(unpacked(pins, "user-mode-linux"), "usr", "bin", "linux.uml");
const utilities = unpacked(pins, "uml-utilities");
const rootImage = await findRootImage();
const missing = !existsSync(debianUml)
  ? `Debian's UML (${debianUml}) is not unpacked: run npm run images`
  : !rootImage
    ? "no root image from the rootfs step: run npm run images"
    : undefined;
if (missing) console.warn(`skipping the xterm console tests: ${missing}`);

interface Console {
  title: string;
  text: string;
  closed: boolean;
  decode(bytes: Uint8Array): string;
}

describe.skipIf(missing !== undefined)("UML's xterm consoles as mux channels (umlab-term, umlab-mux, Debian's UML)", { timeout: 120_000 }, () => {
  let dir: string;
  let mux: ConsoleMux;
  let muxProcess: ChildProcessWithoutNullStreams;
  let muxLog = "";
  let uml: NativeUml | undefined;
  const consoles = new Map<number, Console>();
  const order: string[] = [];

  const until = async <T,>(what: string, probe: () => T | undefined, timeoutMs = 60_000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = probe();
      if (value !== undefined && value !== false) return value;
      if (Date.now() > deadline) {
        const state = [...consoles].map(([ch, c]) => `#${ch} ${JSON.stringify(c.title)}${c.closed ? " closed" : ""}: ${JSON.stringify(c.text.slice(-300))}`);
        throw new Error(`no ${what} after ${timeoutMs} ms\nevents: ${order.join(", ")}\n${state.join("\n")}\nmux: ${muxLog}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const channelTitled = (pattern: RegExp, after = 0): number | undefined =>
    [...consoles].find(([ch, c]) => ch > after && !c.closed && pattern.test(c.title))?.[0];
  const output = (channel: number): string => consoles.get(channel)?.text ?? "";
  const type = (channel: number, line: string): void => mux.write(channel, new TextEncoder().encode(`${line}\n`));
  /** Types a command and waits for the output it should print. */
  const expectOutput = async (channel: number, line: string, expected: RegExp): Promise<void> => {
    const from = output(channel).length;
    type(channel, line);
    await until(`${expected} on channel ${channel}`, () => expected.test(output(channel).slice(from)));
  };
  /** Types a command until its output matches: for state UML applies asynchronously (a resize). */
  const expectOutputSoon = async (channel: number, line: string, expected: RegExp): Promise<void> => {
    const from = output(channel).length;
    let typed = 0;
    await until(`${expected} on channel ${channel}`, () => {
      if (expected.test(output(channel).slice(from))) return true;
      if (Date.now() - typed > 1000) {
        type(channel, line);
        typed = Date.now();
      }
      return undefined;
    });
  };
  const umlabTerms = async (): Promise<string[]> => {
    const { stdout } = await run("ps", ["-ww", "-eo", "pid=,args="]);
    return stdout.split("\n").filter((line) => line.includes(`${dir}/umlab-term`));
  };
  /** UML's processes and umlab-terms from this test (UML's command line names the test's folder, late: -ww). */
  const ours = async (): Promise<string[]> => {
    const { stdout } = await run("ps", ["-ww", "-eo", "pid=,args="]);
    return stdout.split("\n").filter((line) => line.includes(`${dir}/`) && !line.includes(" ps -eo"));
  };
  const mconsole = async (command: string): Promise<string> => {
    const umid = (await readdir(path.join(dir, "uml")))[0] ?? "";
    const libs = [unpacked(pins, "libreadline8"), unpacked(pins, "libtinfo6")].map((p) => path.join(p, "lib", "i386-linux-gnu")).join(":");
    const { stdout } = await run(path.join(utilities, "usr", "bin", "uml_mconsole"), [path.join(dir, "uml", umid, "mconsole"), command], { env: { ...process.env, LD_LIBRARY_PATH: libs } });
    return stdout;
  };
  const gettyOn = (tty: string): Promise<string> => uml?.run(`setsid getty -n -l /sbin/autologin 0 ${tty} linux </dev/null >/dev/null 2>&1 &`) ?? Promise.reject(new Error("no UML"));

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "umlab-xterm-"));
    await run("bash", [path.join(root, "images", "console-mux", "build.sh")], { env: { ...process.env, OUT: dir } });
    // UML runs /usr/lib/uml/port-helper, or port-helper from $PATH when that is missing (as it is here).
    await mkdir(path.join(dir, "bin"));
    await copyFile(path.join(utilities, "usr", "lib", "uml", "port-helper"), path.join(dir, "bin", "port-helper"));

    muxProcess = spawn(path.join(dir, "umlab-mux"), ["-s", path.join(dir, "mux.sock"), "-"], { stdio: ["pipe", "pipe", "pipe"] });
    muxProcess.stderr.on("data", (d: Buffer) => (muxLog += d.toString()));
    mux = new ConsoleMux((bytes) => muxProcess.stdin.write(bytes), {
      open: (channel, title) => {
        order.push(`open ${channel}`);
        const decoder = new TextDecoder();
        consoles.set(channel, { title, text: "", closed: false, decode: (bytes) => decoder.decode(bytes, { stream: true }) });
      },
      data: (channel, bytes) => {
        const c = consoles.get(channel);
        if (c) c.text += c.decode(bytes);
      },
      close: (channel) => {
        order.push(`close ${channel}`);
        const c = consoles.get(channel);
        if (c) c.closed = true;
      },
      error: (message) => order.push(`error ${message}`),
    });
    muxProcess.stdout.on("data", (d: Buffer) => mux.receive(new Uint8Array(d.buffer, d.byteOffset, d.byteLength)));
    await until("mux socket", () => existsSync(path.join(dir, "mux.sock")), 10_000);

    uml = await startNativeUml(debianUml, rootImage ?? "", {
      args: ["con2=xterm", "con3=xterm", "con6=xterm", `xterm=${dir}/umlab-term,-T,-e`, `uml_dir=${dir}/uml`],
      // UML's xterm channel refuses to start without $DISPLAY, though umlab-term never draws a window.
      env: { UMLAB_MUX_SOCKET: path.join(dir, "mux.sock"), DISPLAY: ":umlab", PATH: `${dir}/bin:${process.env.PATH ?? ""}` },
    });
  }, 180_000);

  afterAll(async () => {
    await uml?.close();
    if (muxProcess && muxProcess.exitCode === null) {
      const exited = new Promise((r) => muxProcess.once("exit", r));
      muxProcess.stdin.end(); // the mux exits when its device closes
      await exited;
    }
    // Nothing this test started may outlive it: native-uml's last resort kills script(1), not UML, and
    // umlab-term ends only when its UML does.
    for (const line of dir ? await ours() : []) process.kill(Number(line.trim().split(/\s+/)[0]), "SIGKILL");
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  let con2 = 0;
  let con3 = 0;

  it("opens a channel named after the console when UML opens con2, and carries typing and output", async () => {
    // The root image runs a getty on tty0 only; one on tty2 makes UML open con2's xterm channel.
    await gettyOn("tty2");
    con2 = await until("OPEN for con2", () => channelTitled(/^Virtual Console #2 \(native-/));
    expect(con2).toBeGreaterThanOrEqual(1);
    await until("a shell prompt on con2", () => /root@umlab:~# /.test(output(con2)));
    // umlab-term gave port-helper the slave as its controlling tty, which port-helper gives up (TIOCNOTTY).
    expect(output(con2)).not.toContain("TIOCNOTTY");
    await expectOutput(con2, "echo round-$((6 * 7))-trip; tty", /round-42-trip\r\n\/dev\/tty2\r\n/);
    // Before the page's first RESIZE the console has xterm's default size, never 0x0 (stty fails on that).
    await expectOutput(con2, "stty size", /\r\n24 80\r\n/);
  });

  it("passes a RESIZE to the console's tty through UML's winch thread", async () => {
    // UML learns the size from its winch thread's SIGWINCH, a moment after the mux sets it.
    mux.resize(con2, 100, 30);
    await expectOutputSoon(con2, "stty size", /\r\n30 100\r\n/);
    mux.resize(con2, 132, 43);
    await expectOutputSoon(con2, "stty size", /\r\n43 132\r\n/);
  });

  it("carries output of many frames in order, and survives a frame it cannot parse", async () => {
    const from = output(con2).length;
    type(con2, "seq 1 5000");
    const expected = Array.from({ length: 5000 }, (_, i) => `${i + 1}\r\n`).join("");
    await until("seq's 24 KB on con2", () => output(con2).slice(from).includes(expected));
    // An unknown type: the mux drops what it has buffered and reads on.
    muxProcess.stdin.write(new Uint8Array([9, con2, 0, 3, 0, 1, 2, 3]));
    await until("the mux's complaint", () => muxLog.includes("bad frame (type 9, length 3)"));
    await expectOutput(con2, "echo after-junk", /\r\nafter-junk\r\n/);
  });

  it("gives a second xterm console a second channel", async () => {
    await gettyOn("tty3");
    con3 = await until("OPEN for con3", () => channelTitled(/^Virtual Console #3 \(native-/));
    expect(con3).not.toBe(con2);
    await until("a shell prompt on con3", () => /root@umlab:~# /.test(output(con3)));
    await expectOutput(con3, "echo three-$((1 + 2)); tty", /three-3\r\n\/dev\/tty3\r\n/);
    // LIST answers with an OPEN per live channel; the worker already knows both, so nothing new opens.
    const opens = order.length;
    mux.list();
    await expectOutput(con2, "echo still-here", /\r\nstill-here\r\n/);
    expect(order.slice(opens)).toEqual([]);
    expect([...mux.channels.keys()]).toEqual(expect.arrayContaining([con2, con3]));
  });

  it("a CLOSE from the worker hangs the console up: UML closes it and ends its umlab-term", async () => {
    expect((await umlabTerms()).filter((line) => line.includes("Virtual Console #3"))).toHaveLength(1);
    mux.close(con3);
    await until("CLOSE for con3", () => consoles.get(con3)?.closed);
    // UML reads EIO from its side of the pty, hangs up tty3 and kills the helpers. A pty hangup raises no
    // SIGIO (the host drops the slave's async registration first), so UML 6.1 sees it at its next I/O
    // interrupt: here, a command on con0.
    await expect
      .poll(async () => {
        await uml?.run("true");
        return (await umlabTerms()).filter((line) => line.includes("Virtual Console #3"));
      }, { timeout: 30_000, interval: 100 })
      .toEqual([]);
    // Opening tty3 again starts a new umlab-term, on a new channel number.
    await uml?.run("echo reopened > /dev/tty3");
    const again = await until("a new OPEN for con3", () => channelTitled(/^Virtual Console #3 \(native-/, con3));
    expect(again).toBeGreaterThan(con3);
    await until("output on the reopened con3", () => output(again).includes("reopened"));
  });

  it("mconsole `config con4=xterm` adds a console at run time, and `remove con4` closes it", async () => {
    expect(await mconsole("config con4=xterm")).toMatch(/OK/);
    await uml?.run("echo hello-four > /dev/tty4");
    const con4 = await until("OPEN for con4", () => channelTitled(/^Virtual Console #4 \(native-/));
    await until("output on con4", () => output(con4).includes("hello-four"));
    expect(await mconsole("config con4")).toMatch(/xterm/);
    // tty4 is no longer open (the echo closed it), so UML lets the console go.
    expect(await mconsole("remove con4")).toMatch(/OK/);
    await until("CLOSE for con4", () => consoles.get(con4)?.closed);
  });

  it("the kernel reports a console it cannot open while the mux is down, and opens it once it is back", async () => {
    const sock = path.join(dir, "mux.sock");
    await rename(sock, `${sock}.away`);
    try {
      // Shorter than the test's own limit, so a UML that never answers fails with its console's last words.
      const failed = await uml?.run("echo nope > /dev/tty6 2>/dev/null; echo status=$?; dmesg | grep -E 'xterm|rcv_fd' | tail -n 3", 60_000);
      expect(failed).toMatch(/status=[1-9]/);
      expect(failed).toMatch(/xterm_open : os_rcv_fd failed/);
      expect(channelTitled(/^Virtual Console #6 /)).toBeUndefined();
    } finally {
      await rename(`${sock}.away`, sock);
    }
    await uml?.run("echo six-is-back > /dev/tty6", 60_000);
    const con6 = await until("OPEN for con6", () => channelTitled(/^Virtual Console #6 \(native-/));
    await until("output on con6", () => output(con6).includes("six-is-back"));
  });

  // UML arms its socket only after it has started umlab-term; a message already queued raises no SIGIO.
  // The fake UML arms 500 ms late, when port-helper's message has long arrived (UML can be that late under
  // load): without umlab-term's SIGIO reminders it would wait for a keystroke that never comes.
  it("UML reads the descriptor even when port-helper sends it before UML arms its socket", async () => {
    const fake = path.join(dir, "fake-uml-xterm");
    await run("gcc", ["-O2", "-Wall", "-Wextra", "-Werror", "-o", fake, path.join(root, "cli", "fake-uml-xterm.c")]);
    const env = { ...process.env, UMLAB_MUX_SOCKET: path.join(dir, "mux.sock"), PATH: `${dir}/bin:${process.env.PATH ?? ""}` };
    const emulator = [path.join(dir, "umlab-term"), "-T", "Virtual Console #9 (late-arming)", "-e"];
    const { stdout } = await run(fake, [path.join(dir, "late.sock"), "500", "20000", ...emulator], { env });
    expect(stdout).toMatch(/^descriptor tty=1 pid=[1-9]\d* after=\d+\n$/);
    const con9 = await until("OPEN for the late console", () => [...consoles].find(([, c]) => c.title === "Virtual Console #9 (late-arming)")?.[0]);
    await until("CLOSE for the late console", () => consoles.get(con9)?.closed);

    // The refusal umlab-term sends when the mux is down must be read just as well.
    const refused = await run(fake, [path.join(dir, "late.sock"), "500", "20000", ...emulator], { env: { ...env, UMLAB_MUX_SOCKET: path.join(dir, "no-mux.sock") } });
    expect(refused.stdout).toMatch(/^no descriptor after=\d+\n$/);
    expect(refused.stderr).toMatch(/cannot reach the console mux/);
  });

  // UML reads a console's size as it is opened, and its winch thread takes the tty a moment later: the
  // kernel signals a resize in between to no one (the emulated suite's failure), so the mux must.
  it("a resize between UML reading the size and its winch thread taking the tty still reaches UML", async () => {
    const fake = path.join(dir, "fake-uml-xterm");
    await run("gcc", ["-O2", "-Wall", "-Wextra", "-Werror", "-o", fake, path.join(root, "cli", "fake-uml-xterm.c")]);
    const title = "Virtual Console #8 (late-winch)";
    const emulator = [path.join(dir, "umlab-term"), "-T", title, "-e"];
    const child = spawn(fake, ["--winch", path.join(dir, "winch.sock"), "0", "10000", ...emulator], {
      env: { ...process.env, UMLAB_MUX_SOCKET: path.join(dir, "mux.sock"), PATH: `${dir}/bin:${process.env.PATH ?? ""}` },
    });
    let stdout = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    const channel = await until("OPEN for the late-winch console", () => [...consoles].find(([, c]) => c.title === title)?.[0]);
    await until("the fake UML reading the console's size", () => stdout.includes("activated 24 80\n"));
    mux.resize(channel, 100, 30);
    expect(await exited).toBe(0);
    expect(stdout).toMatch(/\nwinch 30 100 after=\d+\n$/);
    await until("CLOSE for the late-winch console", () => consoles.get(channel)?.closed);
  });

  it("halting UML closes every console", async () => {
    const live = [...consoles].filter(([, c]) => !c.closed).map(([ch]) => ch);
    expect(live.length).toBeGreaterThanOrEqual(2);
    // In the background, so the shell answers before UML goes.
    await uml?.run("(sleep 1; halt -f) >/dev/null 2>&1 &", 60_000);
    await until("CLOSE for every console", () => live.every((ch) => consoles.get(ch)?.closed));
    await expect.poll(umlabTerms, { timeout: 30_000, interval: 100 }).toEqual([]);
  });
});
