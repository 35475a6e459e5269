// umlab command-line runner: the same emulator core as the page, for scripts, CI and workshops.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { randomBytes } from "node:crypto";
import { TextDecoder } from "node:util";
import { ArtifactError } from "../workers/core/artifacts.ts";
import type { BootStage, ConsoleId, Machine, StageEvent } from "../workers/core/machine.ts";
import { isKernelFlavour, KERNEL_FLAVOURS, type KernelFlavour } from "../workers/core/manifest.ts";
import { createNodeMachine, defaultImagesDir, loadManifest, UsageError } from "./node-machine.ts";
import { buildShellCommand, ShellOutputParser } from "./shell-protocol.ts";
import { startEmulatedUml } from "./emulated-uml.ts";
import { formatProfile, GuestSampler, summarize, SymbolMap } from "./guest-profile.ts";
import { parseMconsoleCommand } from "../workers/core/mconsole.ts";
import { FIRST_INSTANCE, MAX_INSTANCE } from "../workers/core/uml-control.ts";

const HELP = `umlab: a User Mode Linux lab, headless.

Usage:
  umlab run [options] -- <command...>    boot, run <command> in the UML shell, exit with its status
  umlab run --instances N -- <command...>
                                         first start UML instances 2..N on the same virtual switch;
                                         <command> reaches them by name (uml2, uml3, uml4)
  umlab host [options] -- <command...>   the same in the host Linux shell that runs UML
  umlab console [options]                attach this terminal to the UML console (Ctrl-] quits)
  umlab mconsole [options] <command...>  boot, run one mconsole command (the real uml_mconsole on the
                                         host), print its reply; e.g. umlab mconsole version
  umlab profile [options] [-- <command...>]
                                         where the emulated CPU's instructions go: during the start
                                         (restore, or boot with --cold), then during <command> in UML

Options:
  --kernel lean|debian   UML kernel flavour (default: lean)
  --images DIR           built images (default: images/out, or $UMLAB_IMAGES)
  --timeout SECONDS      give up after this long, boot included (default: 300)
  --cold                 boot the kernels instead of restoring the pre-booted snapshot
  --instances N          run: N UMLs in all (1 to 4; default 1), each with its own umid, COW and NIC
  --top N                profile: how many symbols to list (default: 30)
  --wall                 profile: shares of wall time, not of instructions (cold code runs far slower)
  --verbose              print boot stages on stderr
  -h, --help             this help

Exit status: the command's own, 2 for bad usage or missing images, 124 on timeout, 125 if the guest failed.`;

const STAGE_NAMES: Record<BootStage, string> = {
  idle: "idle",
  download: "loading artifacts",
  bios: "BIOS",
  "host-kernel": "host kernel",
  "uml-kernel": "UML kernel",
  restore: "restoring the pre-booted snapshot",
  ready: "UML ready",
  halted: "halted",
  error: "error",
};

/** Host shell prompt from images/initramfs/files/etc/profile, once terminal escapes are stripped. */
const HOST_PROMPT = /root@umlab-host:[^\n]*# $/;
/** CSI sequences, e.g. the cursor-position query ash prints after its prompt. */
// eslint-disable-next-line no-control-regex -- ESC is exactly what starts the sequences to strip
const CSI = /\x1b\[[0-9;?]*[A-Za-z]/g;

interface Options {
  kernel: KernelFlavour;
  imagesDir: string;
  timeoutMs: number;
  verbose: boolean;
  /** Boot rather than restore the snapshot (always the case with --verbose, which shows the boot). */
  cold: boolean;
  /** UMLs in all: the main one plus instances 2..instances. */
  instances: number;
  /** profile: symbols to list. */
  top: number;
  /** profile: weigh by wall time rather than instructions. */
  wall: boolean;
}

class GuestError extends Error {}

function parse(argv: string[]): { command: string; options: Options; rest: string[] } {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      kernel: { type: "string", default: "lean" },
      images: { type: "string" },
      timeout: { type: "string", default: "300" },
      verbose: { type: "boolean", default: false },
      cold: { type: "boolean", default: false },
      instances: { type: "string", default: "1" },
      top: { type: "string", default: "30" },
      wall: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  const [command = "", ...rest] = positionals;
  if (values.help || command === "help") {
    console.log(HELP);
    process.exit(0);
  }
  if (!isKernelFlavour(values.kernel)) throw new UsageError(`unknown --kernel "${values.kernel}"; choose one of: ${KERNEL_FLAVOURS.join(", ")}`);
  const timeout = Number(values.timeout);
  if (!Number.isFinite(timeout) || timeout <= 0) throw new UsageError(`--timeout must be a positive number of seconds, not "${values.timeout}"`);
  const instances = Number(values.instances);
  if (!Number.isInteger(instances) || instances < 1 || instances > MAX_INSTANCE) throw new UsageError(`--instances must be a whole number from 1 to ${MAX_INSTANCE}, not "${values.instances}"`);
  if (instances > 1 && command !== "run") throw new UsageError("--instances goes with run, e.g. umlab run --instances 2 -- ping -c 3 uml2");
  const top = Number(values.top);
  if (!Number.isInteger(top) || top < 1) throw new UsageError(`--top must be a whole number from 1 up, not "${values.top}"`);
  return { command, rest, options: { kernel: values.kernel, imagesDir: values.images ?? defaultImagesDir(), timeoutMs: timeout * 1000, verbose: values.verbose, cold: values.cold, instances, top, wall: values.wall } };
}

/** Boots a machine, handing decoded console text to `onText` and stage events to `onStage`. */
async function withMachine(options: Options, onText: (id: ConsoleId, text: string, machine: Machine) => void, onStage: (e: StageEvent, machine: Machine) => void): Promise<Machine> {
  const manifest = await loadManifest(options.imagesDir);
  const decoders: Record<ConsoleId, TextDecoder> = { uml: new TextDecoder(), host: new TextDecoder() };
  const machine: Machine = createNodeMachine(options.imagesDir, manifest, options.kernel, options.verbose, {
    stage: (e) => {
      if (options.verbose) process.stderr.write(`umlab: ${STAGE_NAMES[e.stage]} at ${(e.at / 1000).toFixed(1)} s${e.detail ? ` (${e.detail})` : ""}\n`);
      onStage(e, machine);
    },
    download: () => undefined,
    output: (id, bytes) => onText(id, decoders[id].decode(bytes, { stream: true }), machine),
  }, { start: options.cold || options.verbose ? "cold" : "snapshot" });
  await machine.boot();
  return machine;
}

/** `run` and `host`: once UML is up, type one command into a shell, stream its output, return its status. */
async function runCommand(target: ConsoleId, command: string, options: Options): Promise<number> {
  const shell = buildShellCommand(command, randomBytes(6).toString("hex"));
  const parser = new ShellOutputParser(shell, (text) => process.stdout.write(text));
  let sent = false;
  let umlReady = false;
  // The host shell is up long before UML; a host command runs once both are, so it sees UML running.
  let hostPrompt = target === "uml";
  let hostTail = "";
  let resolveDone: (code: number) => void = () => undefined;
  let rejectDone: (err: Error) => void = () => undefined;
  const done = new Promise<number>((resolve, reject) => {
    resolveDone = resolve;
    rejectDone = reject;
  });
  const maybeSend = (machine: Machine): void => {
    if (sent || !umlReady || !hostPrompt) return;
    sent = true;
    machine.sendInput(target, new TextEncoder().encode(shell.line));
  };
  const machine = await withMachine(
    options,
    (id, text, m) => {
      if (id !== target) return;
      if (!hostPrompt) {
        hostTail = (hostTail + text).slice(-200);
        hostPrompt = HOST_PROMPT.test(hostTail.replace(CSI, ""));
        maybeSend(m);
      }
      if (!sent) return;
      parser.push(text);
      if (parser.status !== undefined) resolveDone(parser.status);
    },
    (e, m) => {
      // A restored host shell sits at the prompt it printed before the state was saved.
      if (e.stage === "restore") hostPrompt = true;
      if (e.stage === "ready") {
        umlReady = true;
        maybeSend(m);
      }
      if (e.stage === "error") rejectDone(new GuestError(`the guest failed: ${e.detail ?? "unknown error"}`));
      if (e.stage === "halted" && !parser.done) rejectDone(new GuestError(`UML stopped before the command finished: ${e.detail ?? ""}`));
    },
  );
  const timer = setTimeout(() => rejectDone(new TimeoutError(options.timeoutMs)), options.timeoutMs);
  try {
    return await done;
  } finally {
    clearTimeout(timer);
    await machine.stop();
  }
}

/** `mconsole`: once UML is up, one mconsole command; its reply on stdout (OK) or stderr (ERR, status 1). */
async function runMconsole(command: string, options: Options): Promise<number> {
  // A command uml_mconsole would refuse is refused before anything boots.
  const parsed = parseMconsoleCommand(command);
  if (!parsed.ok) {
    process.stderr.write(`${parsed.message}\n`);
    return 1;
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new TimeoutError(options.timeoutMs)), options.timeoutMs)));
  const uml = await Promise.race([startEmulatedUml({ kernel: options.kernel, imagesDir: options.imagesDir, start: options.cold ? "cold" : "snapshot" }), timeout]);
  try {
    const reply = await Promise.race([uml.control.mconsole(command), timeout]);
    (reply.ok ? process.stdout : process.stderr).write(`${reply.text}\n`);
    return reply.ok ? 0 : 1;
  } finally {
    clearTimeout(timer);
    await uml.stop();
  }
}

/**
 * `run --instances N`: the main UML and instances 2..N on one switch; each instance's name (uml2...) goes
 * into the main UML's /etc/hosts with the address DHCP gave it, then <command> runs in the main UML.
 */
async function runWithInstances(command: string, options: Options): Promise<number> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new TimeoutError(options.timeoutMs)), options.timeoutMs)));
  const uml = await Promise.race([startEmulatedUml({ kernel: options.kernel, imagesDir: options.imagesDir, start: options.cold ? "cold" : "snapshot" }), timeout]);
  try {
    const work = async (): Promise<number> => {
      const hosts: string[] = [];
      for (let n = FIRST_INSTANCE; n <= options.instances; n++) {
        // Three instances of the default size would not fit beside the main UML in the host's memory.
        await uml.control.startInstance(options.instances > 3 ? { n, mem: "32M" } : { n });
        await uml.instanceRunning(n, options.timeoutMs);
        const address = await uml.instanceAddress(n);
        if (options.verbose) process.stderr.write(`umlab: instance ${n} (uml${n}) runs at ${address}\n`);
        hosts.push(`${address} uml${n}`);
      }
      const added = await uml.run(`printf '%s\\n' ${hosts.map((h) => `'${h}'`).join(" ")} >> /etc/hosts`);
      if (added.status !== 0) throw new GuestError(`could not name the instances in /etc/hosts: ${added.output}`);
      const result = await uml.run(command, options.timeoutMs);
      process.stdout.write(result.output);
      return result.status;
    };
    return await Promise.race([work(), timeout]);
  } finally {
    clearTimeout(timer);
    await uml.stop();
  }
}

/** The image build's symbol maps (images/build.ts); a profile without them shows page addresses. */
async function loadSymbolMaps(imagesDir: string, kernel: KernelFlavour): Promise<{ host?: SymbolMap; uml?: SymbolMap }> {
  const load = async (file: string): Promise<SymbolMap | undefined> => {
    try {
      return SymbolMap.parse(await readFile(path.join(imagesDir, file), "utf8"));
    } catch {
      return undefined;
    }
  };
  const [host, uml] = await Promise.all([load("host-kernel.map"), load(`uml-${kernel}.map`)]);
  return { ...(host ? { host } : {}), ...(uml ? { uml } : {}) };
}

/** `profile`: samples the emulated CPU during the start, then during the command, and prints where it went. */
async function runProfile(command: string, options: Options): Promise<number> {
  const maps = await loadSymbolMaps(options.imagesDir, options.kernel);
  if (!maps.host) process.stderr.write(`umlab: no host-kernel.map in ${options.imagesDir}; the host kernel's addresses stay unnamed\n`);
  if (!maps.uml) process.stderr.write(`umlab: no uml-${options.kernel}.map in ${options.imagesDir}; UML's addresses stay unnamed\n`);
  const sampler = new GuestSampler();
  const weight = options.wall ? "wall" : "instructions";
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new TimeoutError(options.timeoutMs)), options.timeoutMs)));
  const started = Date.now();
  const onStage = (_: StageEvent, machine: Machine): void => {
    const probe = machine.cpuProbe;
    if (sampler.attached || !probe) return;
    sampler.attach(probe);
    sampler.start();
  };
  const uml = await Promise.race([startEmulatedUml({ kernel: options.kernel, imagesDir: options.imagesDir, start: options.cold ? "cold" : "snapshot", onStage }), timeout]);
  try {
    if (!sampler.attached) throw new GuestError("this v86 build does not expose the CPU state the profiler reads");
    const startTitle = options.cold ? `cold boot to UML's prompt (${options.kernel})` : `restore to UML's prompt (${options.kernel})`;
    console.log(formatProfile(startTitle, summarize(sampler.stop(), maps, options.top, weight), Date.now() - started));
    if (!command) return 0;
    sampler.start();
    const commandStarted = Date.now();
    const result = await Promise.race([uml.run(command, options.timeoutMs), timeout]);
    const report = summarize(sampler.stop(), maps, options.top, weight);
    process.stdout.write(result.output);
    console.log(formatProfile(`"${command}" in UML`, report, Date.now() - commandStarted));
    return result.status;
  } finally {
    clearTimeout(timer);
    await uml.stop();
  }
}

class TimeoutError extends Error {
  constructor(ms: number) {
    super(`timed out after ${ms / 1000} s`);
  }
}

/** `console`: raw terminal passthrough to UML con0. */
async function attachConsole(options: Options): Promise<number> {
  const stdin = process.stdin;
  process.stderr.write(`umlab: booting the ${options.kernel} UML kernel; Ctrl-] quits\n`);
  const machine = await withMachine(
    { ...options, verbose: true },
    (id, text) => {
      if (id === "uml") process.stdout.write(text);
    },
    () => undefined,
  );
  const resize = (): void => machine.resize("uml", process.stdout.columns || 80, process.stdout.rows || 24);
  resize();
  process.stdout.on("resize", resize);
  if (stdin.isTTY) stdin.setRawMode(true);
  stdin.resume();
  return new Promise<number>((resolve) => {
    stdin.on("data", (chunk: Buffer) => {
      if (chunk.includes(0x1d)) {
        if (stdin.isTTY) stdin.setRawMode(false);
        process.stderr.write("\numlab: detached\n");
        void machine.stop().then(() => resolve(0));
        return;
      }
      machine.sendInput("uml", new Uint8Array(chunk));
    });
    stdin.on("end", () => void machine.stop().then(() => resolve(0)));
  });
}

async function main(argv: string[]): Promise<number> {
  const { command, rest, options } = parse(argv);
  switch (command) {
    case "run":
    case "host": {
      if (rest.length === 0) throw new UsageError(`umlab ${command} needs a command after --, e.g. umlab ${command} -- uname -a`);
      if (options.instances > 1) return runWithInstances(rest.join(" "), options);
      return runCommand(command === "run" ? "uml" : "host", rest.join(" "), options);
    }
    case "console":
      return attachConsole(options);
    case "mconsole": {
      if (rest.length === 0) throw new UsageError("umlab mconsole needs a command, e.g. umlab mconsole version");
      return runMconsole(rest.join(" "), options);
    }
    case "profile":
      return runProfile(rest.join(" "), options);
    case "":
      throw new UsageError("no command given");
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    if (err instanceof UsageError || (err instanceof TypeError && "code" in err && String(err.code).startsWith("ERR_PARSE_ARGS"))) {
      process.stderr.write(`umlab: ${message}\n\n${HELP}\n`);
      process.exit(2);
    }
    if (err instanceof ArtifactError) {
      process.stderr.write(`umlab: ${message}\n`);
      process.exit(2);
    }
    process.stderr.write(`umlab: ${message}\n`);
    process.exit(err instanceof TimeoutError ? 124 : 125);
  },
);
