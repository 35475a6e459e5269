// The lean UML kernel and the release's root image, run directly on this machine: the bench's physical
// floor, and a real Linux peer for the network stack's tests.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { buildShellCommand, ShellOutputParser } from "./shell-protocol.ts";

export interface NativeUml {
  /** UML's kernel process on this machine: the parent of the host processes that run UML's processes. */
  readonly kernelPid: number;
  /** Runs one command line in UML's shell; resolves with its output (status and output on failure throw). */
  run(cmd: string, timeoutMs?: number): Promise<string>;
  /** Halts UML and removes its COW file. */
  close(): Promise<void>;
}

export interface NativeUmlOptions {
  mem?: string;
  /** More UML command-line words, e.g. a network device. */
  args?: string[];
  /** More environment for UML and the helpers it starts (HOME, TMPDIR and TERM stay native-uml's). */
  env?: Record<string, string>;
}

/**
 * Boots `kernel` (an i386 UML binary; the build machine has i386 glibc through gcc-multilib) with a fresh
 * COW over `rootImage`. UML's con0 gets a pty from script(1), as getty on the rootfs wants a terminal.
 */
export async function startNativeUml(kernel: string, rootImage: string, options: NativeUmlOptions = {}): Promise<NativeUml> {
  const dir = await mkdtemp(path.join(tmpdir(), "umlab-native-"));
  const umid = `native-${process.pid}-${randomBytes(3).toString("hex")}`;
  const args = [`umid=${umid}`, `mem=${options.mem ?? "64M"}`, `ubd0=${path.join(dir, "cow")},${rootImage}`, "root=/dev/ubda", "rw", "con=null", "con0=fd:0,fd:1", "ssl=null", "quiet", ...(options.args ?? [])];
  // UML keeps its umid folder under $HOME/.uml and its memory file in $TMPDIR.
  const child = spawn("script", ["-qfec", [kernel, ...args].join(" "), "/dev/null"], {
    env: { ...process.env, ...options.env, HOME: dir, TMPDIR: "/dev/shm", TERM: "linux" },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let transcript = "";
  let parser: ShellOutputParser | undefined;
  let exited = false;
  const onData = (d: Buffer): void => {
    const text = d.toString("utf8");
    transcript = (transcript + text).slice(-20_000);
    parser?.push(text);
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  const exit = new Promise<void>((resolve) => child.on("exit", () => ((exited = true), resolve())));

  const waitFor = async (found: () => boolean, what: string, timeoutMs: number): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!found()) {
      if (exited) throw new Error(`native UML exited while waiting for ${what}:\n${transcript.slice(-1500)}`);
      if (Date.now() > deadline) throw new Error(`native UML: no ${what} after ${timeoutMs} ms:\n${transcript.slice(-1500)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const close = async (): Promise<void> => {
    if (!exited) {
      child.stdin.write("halt\n");
      await Promise.race([exit, new Promise((r) => setTimeout(r, 30_000))]);
      if (!exited) {
        // A UML that did not halt outlives script(1) and spins on its hung-up console: end its processes too.
        await killProcessesWith(`umid=${umid}`);
        child.kill("SIGKILL");
      }
    }
    await rm(dir, { recursive: true, force: true });
  };
  let kernelPid: number;
  try {
    // The rootfs profile announces the shell with the same OSC the page's stage tracking reads.
    await waitFor(() => transcript.includes("\x1b]6973;ready\x07"), "shell prompt", 120_000);
    kernelPid = await umlKernelPid(umid);
  } catch (err) {
    await close();
    throw err;
  }
  return {
    kernelPid,
    async run(cmd: string, timeoutMs = 120_000): Promise<string> {
      const command = buildShellCommand(cmd, randomBytes(6).toString("hex"));
      let output = "";
      const current = new ShellOutputParser(command, (text) => (output += text));
      parser = current;
      child.stdin.write(command.line);
      await waitFor(() => current.done, `answer to ${cmd}`, timeoutMs);
      parser = undefined;
      if (current.status !== 0) throw new Error(`native UML: \`${cmd}\` exited with ${String(current.status)}:\n${output}`);
      return output;
    },
    close,
  };
}

/** The process with `umid=<umid>` among its arguments whose parent has not: UML's clones keep their parent's command line. */
async function umlKernelPid(umid: string): Promise<number> {
  const word = `umid=${umid}`;
  const uml = new Set<number>();
  for (const pid of await processIds()) {
    const args = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
    if (args.split("\0").includes(word)) uml.add(pid);
  }
  for (const pid of uml) {
    if (!uml.has(await parentPid(pid))) return pid;
  }
  throw new Error(`native UML: no process has ${word}`);
}

/** Every process on this machine, by pid. */
export async function processIds(): Promise<number[]> {
  return (await readdir("/proc")).filter((entry) => /^\d+$/.test(entry)).map(Number);
}

/** The parent's pid from /proc/<pid>/stat (0 once the process is gone). */
export async function parentPid(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
  // The fields after the command name, which ends with the last ")": state, then the parent's pid.
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1] ?? 0);
}

/** SIGKILLs every process whose command line has `word` as one of its arguments. */
async function killProcessesWith(word: string): Promise<void> {
  for (const pid of await processIds()) {
    const args = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
    if (!args.split("\0").includes(word)) continue;
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
}
