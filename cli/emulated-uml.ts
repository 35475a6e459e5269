// A UML in the emulator, driven from Node for tests and the bench: restore the snapshot (or boot), then
// run commands in the UML shell one after another and get each one's output and exit status.
import { randomBytes } from "node:crypto";
import type { ConsoleId, Machine, NetworkAdapter } from "../workers/core/machine.ts";
import type { KernelFlavour } from "../workers/core/manifest.ts";
import { createNodeMachine, defaultImagesDir, loadManifest } from "./node-machine.ts";
import { buildShellCommand, ShellOutputParser } from "./shell-protocol.ts";

export interface EmulatedUml {
  machine: Machine;
  /** Runs `command` in UML's shell; rejects after `timeoutMs`. */
  run(command: string, timeoutMs?: number): Promise<{ status: number; output: string }>;
  stop(): Promise<void>;
}

export interface EmulatedUmlOptions {
  network?: NetworkAdapter;
  kernel?: KernelFlavour;
  imagesDir?: string;
  start?: "cold" | "snapshot";
}

export async function startEmulatedUml(options: EmulatedUmlOptions = {}): Promise<EmulatedUml> {
  const imagesDir = options.imagesDir ?? defaultImagesDir();
  const manifest = await loadManifest(imagesDir);
  const decoder = new TextDecoder();
  let onUml: (text: string) => void = () => undefined;
  let ready: () => void = () => undefined;
  let failed: (err: Error) => void = () => undefined;
  const up = new Promise<void>((resolve, reject) => {
    ready = resolve;
    failed = reject;
  });
  const machine = createNodeMachine(imagesDir, manifest, options.kernel ?? "lean", false, {
    stage: (e) => {
      if (e.stage === "ready") ready();
      if (e.stage === "error") failed(new Error(`the guest failed: ${e.detail ?? "unknown"}`));
    },
    download: () => undefined,
    output: (id: ConsoleId, bytes) => {
      if (id === "uml") onUml(decoder.decode(bytes, { stream: true }));
    },
  }, { start: options.start ?? "snapshot", ...(options.network ? { network: options.network } : {}) });
  await machine.boot();
  await up;
  // One command at a time: the console is a single shell.
  let queue: Promise<unknown> = Promise.resolve();
  const runOne = (command: string, timeoutMs: number): Promise<{ status: number; output: string }> =>
    new Promise((resolve, reject) => {
      const shell = buildShellCommand(command, randomBytes(6).toString("hex"));
      let output = "";
      const parser = new ShellOutputParser(shell, (text) => (output += text));
      const timer = setTimeout(() => reject(new Error(`"${command}" did not finish within ${timeoutMs / 1000} s; output so far:\n${output}`)), timeoutMs);
      onUml = (text) => {
        parser.push(text);
        if (parser.status !== undefined) {
          clearTimeout(timer);
          onUml = () => undefined;
          resolve({ status: parser.status, output: output.replace(/\r\n/g, "\n") });
        }
      };
      machine.sendInput("uml", new TextEncoder().encode(shell.line));
    });
  return {
    machine,
    run(command, timeoutMs = 60_000) {
      const result = queue.then(() => runOne(command, timeoutMs));
      queue = result.catch(() => undefined);
      return result;
    },
    stop: () => machine.stop(),
  };
}
