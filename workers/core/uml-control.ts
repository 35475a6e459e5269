// The UML toolkit over a running Machine: mconsole, restarts with another kernel or command line, uploaded
// kernels, extra consoles (UML's xterm channel, multiplexed on virtio-console port 2) and UML's state.
// Pure core: shared by the worker and the Node CLI.
import type { Machine, StageEvent } from "./machine.ts";
import { ConsoleMux } from "./console-mux.ts";
import { parseMconsoleCommand, parseMconsoleReply } from "./mconsole.ts";
import { DEFAULT_UML_CMDLINE, parseUmlCmdline } from "./uml-cmdline.ts";
import { checkUmlConfig, inspectElf, parseShowconfig, parseUmlVersion } from "./uml-binary.ts";
import { PRIVATE_DIR, type ShareFs } from "./share-fs.ts";

/** The host mounts the share here, and UML's hostfs is confined to it. */
export const LAB_DIR = "/lab";

export type UmlRunState = "booting" | "running" | "paused" | "halted" | "crashed";

export interface UmlStatus {
  state: UmlRunState;
  umid?: string;
  /** The kernel UML runs: "lean", "debian", or an uploaded one ("upload:<name>"). */
  kernel: string;
  /** The user's part of UML's command line (umlab adds the rest: umid, ubd0, con0, con1, hostfs, network). */
  cmdline: string;
  /** For "halted"/"crashed": UML's exit status and the panic text (from "Kernel panic" on), if any. */
  exitStatus?: number;
  panic?: string;
}

export interface McResult {
  /** The command as run. */
  command: string;
  /** False for an "ERR" reply, a refused command line, or when mconsole could not reach UML. */
  ok: boolean;
  /** The reply text, verbatim (without uml_mconsole's "OK "/"ERR " prefix). */
  text: string;
  ms: number;
}

export type UploadCheck =
  | {
      ok: true;
      /** Its name in the host's /lab/kernels; boot it with restart({ kernel: "upload:<name>" }). */
      name: string;
      /** What `linux --version` printed on the host. */
      version: string;
      /** `linux --showconfig`, verbatim. */
      config: string;
      /** Options umlab relies on that this kernel lacks, each saying what will not work. */
      warnings: string[];
    }
  | { ok: false; message: string };

export type CmdCheck = { ok: true; args: string[]; warnings: string[] } | { ok: false; errors: Array<{ token: string; message: string }> };

export interface MuxEvents {
  open(channel: number, title: string): void;
  data(channel: number, bytes: Uint8Array): void;
  close(channel: number): void;
}

export interface UmlControlOptions {
  /** The flavour the machine booted ("lean" or "debian"). */
  kernel: string;
  /** The user's part of UML's command line the machine booted with. */
  cmdline?: string;
  /** Host RAM, which bounds UML's mem=. */
  hostMemoryMiB: number;
  onState(state: UmlStatus): void;
  mux: MuxEvents;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Host RAM the host itself, the share and UML's helpers need besides UML's mem=. */
const HOST_RESERVE_MIB = 96;
const FIRST_EXTRA_CONSOLE = 2;
/** How long a reboot may take to show UML's shell again before umlab restarts UML itself. */
const REBOOT_GRACE_MS = 30_000;

export class UmlControl {
  private status: UmlStatus;
  private readonly mux: ConsoleMux;
  private nextConsole = FIRST_EXTRA_CONSOLE;
  private rebootGeneration = 0;
  private stagesSinceReboot = 0;

  constructor(
    private readonly machine: Machine,
    private readonly options: UmlControlOptions,
  ) {
    this.status = { state: "booting", kernel: options.kernel, cmdline: options.cmdline ?? DEFAULT_UML_CMDLINE };
    this.mux = new ConsoleMux((bytes) => machine.muxInput(bytes), options.mux);
  }

  get state(): UmlStatus {
    return { ...this.status };
  }

  /** The machine's stage events: a new UML starting, and its shell being ready. */
  onStage(event: StageEvent): void {
    this.stagesSinceReboot++;
    if (event.stage === "uml-kernel") {
      this.nextConsole = FIRST_EXTRA_CONSOLE;
      this.set({ state: "booting", umid: this.machine.status.umid, kernel: this.status.kernel, cmdline: this.status.cmdline });
    } else if (event.stage === "ready") {
      this.set({ ...this.status, state: "running", umid: this.machine.status.umid });
    }
  }

  /** UML's shell said it is ready again (after a reboot UML restarts in place, with no new stage). */
  onReady(): void {
    this.stagesSinceReboot++;
    if (this.status.state !== "running") this.set({ ...this.status, state: "running" });
  }

  /** A restored state brought a running UML and the host multiplexer's consoles: learn them again. */
  afterRestore(): void {
    this.mux.list();
  }

  onUmlExited(status: number, panic: string | undefined): void {
    const crashed = status !== 0 || panic !== undefined;
    this.set({ ...this.status, state: crashed ? "crashed" : "halted", exitStatus: status, ...(panic ? { panic } : {}) });
  }

  /** Bytes from the host multiplexer (virtio-console port 2). */
  muxOutput(bytes: Uint8Array): void {
    this.mux.receive(bytes);
  }

  muxInput(channel: number, bytes: Uint8Array): void {
    this.mux.write(channel, bytes);
  }

  muxResize(channel: number, cols: number, rows: number): void {
    this.mux.resize(channel, cols, rows);
  }

  async mconsole(line: string): Promise<McResult> {
    const started = Date.now();
    const parsed = parseMconsoleCommand(line);
    if (!parsed.ok) return { command: line, ok: false, text: parsed.message, ms: 0 };
    if (this.status.state === "halted" || this.status.state === "crashed") {
      return { command: parsed.line, ok: false, text: "UML is not running; restart it first.", ms: 0 };
    }
    let reply: string;
    try {
      reply = await this.machine.agentRequest(`mconsole ${parsed.line}`, 30_000);
    } catch (err) {
      return { command: parsed.line, ok: false, text: err instanceof Error ? err.message : String(err), ms: Date.now() - started };
    }
    const output = new TextDecoder().decode(await this.share().read(`${PRIVATE_DIR}/mconsole`, true));
    const result = parseMconsoleReply(output);
    if (reply !== "ok mconsole 0" && result.ok) result.ok = false;
    if (result.ok && parsed.command === "stop") this.set({ ...this.status, state: "paused" });
    if (result.ok && parsed.command === "go") this.set({ ...this.status, state: "running" });
    if (result.ok && (parsed.command === "reboot" || parsed.command === "cad")) {
      this.set({ ...this.status, state: "booting" });
      this.watchReboot();
    }
    return { command: parsed.line, ok: result.ok, text: result.text, ms: Date.now() - started };
  }

  /**
   * UML's in-place reboot (it re-executes itself) stalls inside v86: the old kernel waits forever for its
   * traced processes. A UML still not back after REBOOT_GRACE_MS is started again by umlab-uml, with the
   * same kernel and command line, which is what the reboot asked for.
   */
  private watchReboot(): void {
    const generation = ++this.rebootGeneration;
    setTimeout(() => {
      if (generation !== this.rebootGeneration || this.status.state !== "booting" || this.stagesSinceReboot > 0) return;
      void this.restart().catch((err: unknown) => this.set({ ...this.status, state: "crashed", panic: `reboot did not finish and the restart failed: ${err instanceof Error ? err.message : String(err)}` }));
    }, REBOOT_GRACE_MS);
    this.stagesSinceReboot = 0;
  }

  checkCmdline(text: string): CmdCheck {
    const parsed = parseUmlCmdline(text, { maxMemMiB: this.options.hostMemoryMiB - HOST_RESERVE_MIB });
    return parsed.ok ? { ok: true, args: parsed.args, warnings: parsed.warnings ?? [] } : { ok: false, errors: parsed.errors };
  }

  /** Starts UML again: after a halt or crash, or now, with another kernel or command line. */
  async restart(options: { kernel?: string; cmdline?: string } = {}): Promise<void> {
    const kernel = options.kernel ?? this.status.kernel;
    if (kernel !== this.options.kernel && !kernel.startsWith("upload:")) {
      throw new Error(`This lab's host carries the ${this.options.kernel} UML kernel only; open the lab with ?kernel=${kernel} to boot ${kernel}.`);
    }
    if (kernel.startsWith("upload:") && !NAME.test(kernel.slice("upload:".length))) throw new Error(`"${kernel}" is not an uploaded kernel's name`);
    const cmdline = options.cmdline ?? this.status.cmdline;
    const check = this.checkCmdline(cmdline);
    if (!check.ok) throw new Error(check.errors.map((e) => e.message).join(" "));
    // A paused UML cannot shut down cleanly: let it run first.
    if (this.status.state === "paused") await this.mconsole("go");
    // Booting from now on: the old UML shuts down first, and nothing typed reaches it meanwhile.
    this.set({ state: "booting", kernel, cmdline });
    await this.machine.agentRequest(`restart - ${kernel} ${check.args.join(" ") || "mem=64M"}`, 60_000);
  }

  /** Opens conN=xterm through mconsole and a login on it; the new tab arrives as a multiplexer "open". */
  async openConsole(): Promise<number> {
    if (this.status.state !== "running") throw new Error(`UML is ${this.status.state}; a console opens only while it runs.`);
    const n = this.nextConsole++;
    await this.machine.agentRequest(`console ${n}`, 30_000);
    return n;
  }

  /** `--showconfig` of the running kernel, or of another ("lean", "debian", "upload:<name>"). */
  async kernelConfig(kernel = this.status.kernel): Promise<string> {
    return (await this.runKernelCheck(kernelPath(kernel))).config;
  }

  async uploadKernel(name: string, bytes: Uint8Array): Promise<UploadCheck> {
    if (!NAME.test(name)) return { ok: false, message: `"${name}" is not a usable name: use letters, digits, ".", "_" and "-" (at most 64).` };
    const elf = inspectElf(bytes);
    if (!elf.ok) return { ok: false, message: elf.message };
    await this.share().put(`/kernels/${name}`, bytes);
    let checked: { version: string; config: string; versionStatus: number };
    try {
      checked = await this.runKernelCheck(`${LAB_DIR}/kernels/${name}`);
    } catch (err) {
      return { ok: false, message: err instanceof Error ? err.message : String(err) };
    }
    const version = parseUmlVersion(checked.version);
    if (checked.versionStatus !== 0 || version === undefined) {
      return { ok: false, message: `The host ran "${name} --version" and it did not identify as User Mode Linux (exit status ${checked.versionStatus}): ${checked.version.trim().slice(0, 400) || "no output"}` };
    }
    return { ok: true, name, version, config: checked.config, warnings: checkUmlConfig(parseShowconfig(checked.config)) };
  }

  private async runKernelCheck(path: string): Promise<{ version: string; config: string; versionStatus: number }> {
    const reply = await this.machine.agentRequest(`kernel-check ${path}`, 60_000);
    const [, versionStatus = "1"] = /^ok kernel-check (\d+)/.exec(reply) ?? [];
    const text = async (file: string): Promise<string> => new TextDecoder().decode(await this.share().read(`${PRIVATE_DIR}/${file}`, true));
    return { version: await text("version"), config: await text("showconfig"), versionStatus: Number(versionStatus) };
  }

  share(): ShareFs {
    const share = this.machine.share;
    if (!share) throw new Error("the lab's shared folder is not available (the machine is not running)");
    return share;
  }

  private set(status: UmlStatus): void {
    this.status = status;
    this.options.onState({ ...status });
  }
}

/** Where the host keeps a kernel: the initramfs for the built-in flavours, the share for uploads. */
export function kernelPath(kernel: string): string {
  return kernel.startsWith("upload:") ? `${LAB_DIR}/kernels/${kernel.slice("upload:".length)}` : `/opt/uml/${kernel}/linux`;
}
