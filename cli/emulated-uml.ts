// A UML in the emulator, driven from Node for tests and the bench: restore the snapshot (or boot), then
// run commands in the UML shell one after another and get each one's output and exit status.
import { randomBytes } from "node:crypto";
import type { ConsoleId, Machine, NetworkAdapter, StageEvent } from "../workers/core/machine.ts";
import type { KernelFlavour } from "../workers/core/manifest.ts";
import type { PersistentOverlay } from "../workers/disk/persistent-overlay.ts";
import { createNodeMachine, defaultImagesDir, loadManifest } from "./node-machine.ts";
import { buildShellCommand, ShellOutputParser } from "./shell-protocol.ts";
import { UmlControl, type InstanceStatus, type UmlStatus } from "../workers/core/uml-control.ts";

export interface EmulatedUml {
  machine: Machine;
  /** The toolkit (mconsole, restarts, uploads, the share, extra consoles) over this machine. */
  control: UmlControl;
  /** Every UML state the control reported, oldest first. */
  states: UmlStatus[];
  /** Extra consoles (UML's xterm channel): title and everything they printed, by channel. */
  consoles: Map<number, { title: string; text: string; closed: boolean }>;
  /** The end of everything UML's con0 printed, for failure messages. */
  transcript(): string;
  /** Runs `command` in UML's shell; rejects after `timeoutMs`. */
  run(command: string, timeoutMs?: number): Promise<{ status: number; output: string }>;
  /** Runs `command` in the host Linux's shell (the one that runs UML); rejects after `timeoutMs`. */
  host(command: string, timeoutMs?: number): Promise<{ status: number; output: string }>;
  /** Instance n as the control last reported it. */
  instance(n: number): InstanceStatus | undefined;
  /** Waits (at most `timeoutMs`) until instance n's shell is up. */
  instanceRunning(n: number, timeoutMs?: number): Promise<InstanceStatus>;
  /** Types `command` into instance n's console; resolves with what the console printed after it once that matches `expected`. */
  typeInInstance(n: number, command: string, expected: RegExp, timeoutMs?: number): Promise<string>;
  /** Instance n's IPv4 address on the switch (what DHCP gave its eth0). */
  instanceAddress(n: number): Promise<string>;
  stop(): Promise<void>;
}

export interface EmulatedUmlOptions {
  network?: NetworkAdapter;
  kernel?: KernelFlavour;
  imagesDir?: string;
  start?: "cold" | "snapshot";
  /** The state disk (UML's and the instances' COW files); a fresh one unless given. */
  stateDisk?: PersistentOverlay;
  /** Every stage event, with the machine: `umlab profile` attaches its sampler at the first one. */
  onStage?: (event: StageEvent, machine: Machine) => void;
}

export async function startEmulatedUml(options: EmulatedUmlOptions = {}): Promise<EmulatedUml> {
  const imagesDir = options.imagesDir ?? defaultImagesDir();
  const manifest = await loadManifest(imagesDir);
  const decoder = new TextDecoder();
  const onText: Record<ConsoleId, (text: string) => void> = { uml: () => undefined, host: () => undefined };
  const hostDecoder = new TextDecoder();
  let ready: () => void = () => undefined;
  let failed: (err: Error) => void = () => undefined;
  const up = new Promise<void>((resolve, reject) => {
    ready = resolve;
    failed = reject;
  });
  // Set right after the machine exists; the machine's events reach it through this holder.
  const link: { control?: UmlControl } = {};
  let transcript = "";
  const states: UmlStatus[] = [];
  const consoles = new Map<number, { title: string; text: string; closed: boolean }>();
  const muxDecoder = new TextDecoder();
  const start = options.start ?? "snapshot";
  const kernel = options.kernel ?? "lean";
  const machine = createNodeMachine(imagesDir, manifest, kernel, false, {
    stage: (e) => {
      if (e.stage === "ready") ready();
      if (e.stage === "error") failed(new Error(`the guest failed: ${e.detail ?? "unknown"}`));
      link.control?.onStage(e);
      options.onStage?.(e, machine);
    },
    download: () => undefined,
    output: (id: ConsoleId, bytes) => {
      if (id === "host") return onText.host(hostDecoder.decode(bytes, { stream: true }));
      const text = decoder.decode(bytes, { stream: true });
      transcript = (transcript + text).slice(-4000);
      onText.uml(text);
    },
    mux: (bytes) => link.control?.muxOutput(bytes),
    umlExited: (status, panic) => link.control?.onUmlExited(status, panic),
    umlReady: () => link.control?.onReady(),
    instance: (event) => link.control?.onInstance(event),
  }, { start, ...(options.network ? { network: options.network } : {}), ...(options.stateDisk ? { stateDisk: options.stateDisk } : {}) });
  const control = new UmlControl(machine, {
    kernel,
    hostMemoryMiB: manifest.snapshots?.[kernel]?.hostMemoryMiB ?? 256,
    onState: (state) => states.push(state),
    mux: {
      open: (channel, title) => consoles.set(channel, { title, text: "", closed: false }),
      data: (channel, bytes) => {
        const c = consoles.get(channel);
        if (c) c.text += muxDecoder.decode(bytes, { stream: true });
      },
      close: (channel) => {
        const c = consoles.get(channel);
        if (c) c.closed = true;
      },
    },
  });
  link.control = control;
  await machine.boot();
  if (start === "snapshot") control.afterRestore();
  await up;
  // One command at a time on each console: each is a single shell.
  const queues: Record<ConsoleId, Promise<unknown>> = { uml: Promise.resolve(), host: Promise.resolve() };
  const runOne = (id: ConsoleId, command: string, timeoutMs: number): Promise<{ status: number; output: string }> =>
    new Promise((resolve, reject) => {
      const shell = buildShellCommand(command, randomBytes(6).toString("hex"));
      let output = "";
      const parser = new ShellOutputParser(shell, (text) => (output += text));
      const timer = setTimeout(() => reject(new Error(`"${command}" did not finish within ${timeoutMs / 1000} s; output so far:\n${output}`)), timeoutMs);
      onText[id] = (text) => {
        parser.push(text);
        if (parser.status !== undefined) {
          clearTimeout(timer);
          onText[id] = () => undefined;
          resolve({ status: parser.status, output: output.replace(/\r\n/g, "\n") });
        }
      };
      machine.sendInput(id, new TextEncoder().encode(shell.line));
    });
  const queued = (id: ConsoleId, command: string, timeoutMs: number): Promise<{ status: number; output: string }> => {
    const result = queues[id].then(() => runOne(id, command, timeoutMs));
    queues[id] = result.catch(() => undefined);
    return result;
  };
  const instance = (n: number): InstanceStatus | undefined => control.state.instances.find((i) => i.n === n);
  const consoleText = (n: number): string => consoles.get(instance(n)?.channel ?? -1)?.text ?? "";
  const typeInInstance = async (n: number, command: string, expected: RegExp, timeoutMs = 60_000): Promise<string> => {
    const channel = instance(n)?.channel;
    if (channel === undefined) throw new Error(`instance ${n} has no console`);
    const from = consoleText(n).length;
    control.muxInput(channel, new TextEncoder().encode(`${command}\n`));
    await until(() => `${expected} on instance ${n}'s console, which shows:\n${consoleText(n).slice(from).slice(-1500)}`, () => expected.test(consoleText(n).slice(from)), timeoutMs);
    return consoleText(n).slice(from);
  };
  return {
    machine,
    control,
    states,
    consoles,
    transcript: () => transcript,
    instance,
    instanceRunning: (n, timeoutMs = 300_000) =>
      until(
        () => `instance ${n} running (it is ${instance(n)?.state ?? "absent"}); its console ends:\n${consoleText(n).slice(-1500)}`,
        () => {
          const i = instance(n);
          return i?.state === "running" && i;
        },
        timeoutMs,
      ),
    typeInInstance,
    async instanceAddress(n) {
      const out = await typeInInstance(n, "echo ip=$(ip -4 -o addr show eth0 | sed 's/.* inet \\([0-9.]*\\).*/\\1/')", /ip=\d+\.\d+\.\d+\.\d+/);
      return /ip=(\d+\.\d+\.\d+\.\d+)/.exec(out)?.[1] ?? "";
    },
    run: (command, timeoutMs = 60_000) => queued("uml", command, timeoutMs),
    host: (command, timeoutMs = 60_000) => queued("host", command, timeoutMs),
    stop: () => machine.stop(),
  };
}

/** Polls `check` every 100 ms until it returns a value, or fails after `timeoutMs` saying what it waited for. */
export async function until<T>(what: string | (() => string), check: () => T | undefined | false, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === "string" ? what : what()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
