// The physical floor: the lean UML kernel and the same root image, run directly on this machine.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { markedCommand, outputBetween, type Shell } from "./micro.ts";

export interface NativeUml extends Shell {
  /** Halts UML and removes its COW file. */
  close(): Promise<void>;
}

/**
 * Boots `kernel` (an i386 UML binary; the build machine has i386 glibc through gcc-multilib) with a fresh
 * COW over `rootImage`. UML's con0 gets a pty from script(1), as getty on the rootfs wants a terminal.
 */
export async function startNativeUml(kernel: string, rootImage: string, mem = "64M"): Promise<NativeUml> {
  const dir = await mkdtemp(path.join(tmpdir(), "umlab-native-"));
  const args = [`umid=bench-${process.pid}`, `mem=${mem}`, `ubd0=${path.join(dir, "cow")},${rootImage}`, "root=/dev/ubda", "rw", "con=null", "con0=fd:0,fd:1", "ssl=null", "quiet"];
  // UML keeps its umid folder under $HOME/.uml and its memory file in $TMPDIR.
  const child: ChildProcess = spawn("script", ["-qfec", [kernel, ...args].join(" "), "/dev/null"], {
    env: { ...process.env, HOME: dir, TMPDIR: "/dev/shm", TERM: "linux" },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let transcript = "";
  let exited = false;
  child.stdout?.on("data", (d: Buffer) => (transcript += d.toString("utf8")));
  child.stderr?.on("data", (d: Buffer) => (transcript += d.toString("utf8")));
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
      child.stdin?.write("halt\n");
      await Promise.race([exit, new Promise((r) => setTimeout(r, 30_000))]);
      if (!exited) child.kill("SIGKILL");
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    // The rootfs profile announces the shell with the same OSC the page's stage tracking reads.
    await waitFor(() => transcript.includes("\x1b]6973;ready\x07"), "shell prompt", 120_000);
  } catch (err) {
    await close();
    throw err;
  }
  let n = 0;
  return {
    async run(cmd: string, timeoutMs = 120_000): Promise<string> {
      const marked = markedCommand(cmd, `nat${process.pid}x${n++}`);
      child.stdin?.write(`${marked.line}\n`);
      let out: string | undefined;
      await waitFor(() => (out = outputBetween(transcript, marked.begin, marked.end)) !== undefined, `answer to ${cmd}`, timeoutMs);
      return out ?? "";
    },
    close,
  };
}
