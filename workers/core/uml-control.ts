// The UML toolkit over a running Machine: mconsole, restarts with another kernel or command line, uploaded
// kernels, extra consoles (UML's xterm channel, multiplexed on virtio-console port 2) and UML's state.
// Pure core: shared by the worker and the Node CLI.
import type { InstanceEvent, Machine, StageEvent } from "./machine.ts";
import { ConsoleMux } from "./console-mux.ts";
import { parseMconsoleCommand, parseMconsoleReply } from "./mconsole.ts";
import { DEFAULT_UML_CMDLINE, parseUmlCmdline, UML_DEFAULT_MEM_MIB } from "./uml-cmdline.ts";
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
  /** The UML instances started beside this one, on the same virtual switch. */
  instances: InstanceStatus[];
}

export type InstanceRunState = "booting" | "running" | "paused" | "halted" | "crashed";

/** A UML instance beside the main UML: host bridge br0 is the switch, each UML's tap device its port. */
export interface InstanceStatus {
  /** 2..MAX_INSTANCE; the main UML is 1. */
  n: number;
  /** Its hostname inside UML. */
  name: string;
  umid: string;
  state: InstanceRunState;
  /** Its port on the switch (a tap device of the host's bridge br0) and its NIC's MAC. */
  tap: string;
  mac: string;
  /** Its con0, a console tab (a channel of the host's console multiplexer), once UML opened it. */
  channel?: number;
  exitStatus?: number;
}

export const FIRST_INSTANCE = 2;
export const MAX_INSTANCE = 4;
/** An instance's memory unless the page asks for another. */
export const INSTANCE_MEM = "48M";

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

const READY_MARKER = "\x1b]6973;ready\x07";
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Host RAM the host itself, the share and UML's helpers need besides UML's mem=. */
const HOST_RESERVE_MIB = 96;
const FIRST_EXTRA_CONSOLE = 2;
/** How long a reboot may take to show UML's shell again before umlab restarts UML itself. */
const REBOOT_GRACE_MS = 30_000;

export class UmlControl {
  private status: Omit<UmlStatus, "instances">;
  private readonly instanceMap = new Map<number, InstanceStatus>();
  /** The memory each instance was started with, in MiB. */
  private readonly instanceMemMiB = new Map<number, number>();
  /** Titles of the open multiplexer channels: an instance's con0 is known by the umid in its title. */
  private readonly channelTitles = new Map<number, string>();
  /** The last characters each booting instance's console printed, to see the shell's ready marker. */
  private readonly consoleTails = new Map<number, string>();
  private readonly mux: ConsoleMux;
  private nextConsole = FIRST_EXTRA_CONSOLE;
  private rebootGeneration = 0;
  private stagesSinceReboot = 0;
  /** A reboot or cad was asked for and UML has not shown a stage since. */
  private rebootPending = false;
  /** A restart the page asked for is under way: the old UML's exit is expected. */
  private restarting = false;

  constructor(
    private readonly machine: Machine,
    private readonly options: UmlControlOptions,
  ) {
    this.status = { state: "booting", kernel: options.kernel, cmdline: options.cmdline ?? DEFAULT_UML_CMDLINE };
    this.mux = new ConsoleMux((bytes) => machine.muxInput(bytes), {
      open: (channel, title) => {
        this.channelTitles.set(channel, title);
        this.matchChannels();
        options.mux.open(channel, title);
      },
      data: (channel, bytes) => {
        this.watchInstanceConsole(channel, bytes);
        options.mux.data(channel, bytes);
      },
      close: (channel) => {
        this.channelTitles.delete(channel);
        this.consoleTails.delete(channel);
        options.mux.close(channel);
      },
    });
  }

  get state(): UmlStatus {
    return { ...this.status, instances: this.instanceList() };
  }

  private instanceList(): InstanceStatus[] {
    return [...this.instanceMap.values()].sort((a, b) => a.n - b.n).map((i) => ({ ...i }));
  }

  /** The machine's stage events: a new UML starting, and its shell being ready. */
  onStage(event: StageEvent): void {
    this.stagesSinceReboot++;
    this.rebootPending = false;
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
    this.rebootPending = false;
    if (this.status.state !== "running") this.set({ ...this.status, state: "running" });
  }

  /** A restored state brought a running UML, its instances and the multiplexer's consoles: learn them again. */
  afterRestore(): void {
    this.mux.list();
    void this.machine
      .agentRequest("instances", 10_000)
      .then((reply) => {
        for (const [, n, umid] of reply.matchAll(/ (\d+):(\S+)/g)) {
          if (n && umid) this.instanceMap.set(Number(n), { ...instanceLink(Number(n)), umid, state: "running" });
        }
        this.matchChannels();
        this.emit();
      })
      .catch(() => undefined);
  }

  /** The host's umlab-instance started or ended instance n. */
  onInstance(event: InstanceEvent): void {
    if (!(event.n >= FIRST_INSTANCE && event.n <= MAX_INSTANCE)) return;
    if (event.kind === "started") {
      this.instanceMap.set(event.n, { ...instanceLink(event.n), umid: event.umid, state: "booting" });
      this.matchChannels();
    } else {
      const instance = this.instanceMap.get(event.n);
      if (!instance) return;
      this.instanceMap.set(event.n, { ...instance, state: event.status === 0 ? "halted" : "crashed", exitStatus: event.status, channel: undefined });
    }
    this.emit();
  }

  /**
   * Starts UML instance n (the lowest free one unless given) beside the main UML, with the main UML's kernel
   * and root image under its own COW file; it joins the switch (br0) and gets its address by DHCP.
   * Resolves with n once the host started it (booting); its console opens as a tab, and `instances`
   * follows its state.
   */
  async startInstance(options: { n?: number; mem?: string } = {}): Promise<number> {
    if (this.status.state !== "running") throw new Error(`UML is ${this.status.state}; instances start beside a running UML.`);
    const up = (k: number): boolean => isUp(this.instanceMap.get(k));
    const n = options.n ?? INSTANCES.find((k) => !up(k));
    if (n === undefined) throw new Error(`At most ${INSTANCES.length} instances run beside the main UML; stop one first.`);
    if (!INSTANCES.includes(n)) throw new Error(`Instances are numbered ${FIRST_INSTANCE} to ${MAX_INSTANCE}.`);
    if (up(n)) throw new Error(`Instance ${n} is already running.`);
    const mem = options.mem ?? INSTANCE_MEM;
    const main = parseUmlCmdline(this.status.cmdline, { maxMemMiB: Infinity });
    const used = (main.ok ? main.memMiB : UML_DEFAULT_MEM_MIB) + this.instanceMemory();
    const budget = this.options.hostMemoryMiB - HOST_RESERVE_MIB;
    // The same rules as the main UML's mem=, then what the running UMLs leave of the host's RAM.
    const own = parseUmlCmdline(`mem=${mem}`, { maxMemMiB: Infinity });
    if (!own.ok) throw new Error(`Instance ${n}: ${own.errors.map((e) => e.message).join(" ")}`);
    if (used + own.memMiB > budget) {
      throw new Error(`The host has ${budget} MiB for UML; the running UMLs use ${used} MiB, so instance ${n} cannot have ${own.memMiB} MiB. Give it less memory or stop an instance.`);
    }
    const reply = await this.machine.agentRequest(`instance-start ${n} ${kernelPath(this.status.kernel)} mem=${mem} quiet`, 30_000);
    // The host's "instance" marker may have come first, with the umid of this very start: it stands.
    if (!isUp(this.instanceMap.get(n))) {
      const umid = /^ok instance-start \d+ (\S+)/.exec(reply)?.[1];
      this.instanceMap.set(n, { ...instanceLink(n), umid: umid && umid !== "-" ? umid : "", state: "booting" });
    }
    this.instanceMemMiB.set(n, own.memMiB);
    this.matchChannels();
    this.emit();
    return n;
  }

  /** Halts instance n (mconsole halt; killed if still there after 20 s). Its COW file stays for the next start. */
  async stopInstance(n: number): Promise<void> {
    if (!this.instanceMap.has(n)) throw new Error(`There is no instance ${n}.`);
    await this.machine.agentRequest(`instance-stop ${n}`, 40_000);
  }

  /** MiB the instances that are up were given (an instance learned after a restore counts as INSTANCE_MEM). */
  private instanceMemory(): number {
    let total = 0;
    for (const [n, instance] of this.instanceMap) if (isUp(instance)) total += this.instanceMemMiB.get(n) ?? Number.parseInt(INSTANCE_MEM, 10);
    return total;
  }

  /** Gives each instance whose con0 has opened its channel. */
  private matchChannels(): void {
    for (const instance of this.instanceMap.values()) {
      if (instance.state === "halted" || instance.state === "crashed") continue;
      for (const [channel, title] of this.channelTitles) {
        if (title.includes(`(${instance.umid})`) && /#0\b/.test(title) && instance.channel !== channel) {
          instance.channel = channel;
          this.emit();
        }
      }
    }
  }

  private watchInstanceConsole(channel: number, bytes: Uint8Array): void {
    const instance = [...this.instanceMap.values()].find((i) => i.channel === channel && i.state === "booting");
    if (!instance) return;
    const tail = (this.consoleTails.get(channel) ?? "") + new TextDecoder("latin1").decode(bytes);
    if (tail.includes(READY_MARKER)) {
      this.consoleTails.delete(channel);
      instance.state = "running";
      this.emit();
    } else {
      this.consoleTails.set(channel, tail.slice(-READY_MARKER.length));
    }
  }

  private emit(): void {
    this.options.onState(this.state);
  }

  onUmlExited(status: number, panic: string | undefined): void {
    if (this.restarting) return;
    // UML's in-place reboot can also end in an exit inside v86: start it again, as the reboot asked.
    if (this.rebootPending) {
      this.rebootPending = false;
      this.rebootGeneration++;
      void this.restart().catch((err: unknown) => this.rebootFailed(err));
      return;
    }
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

  /** Runs uml_mconsole against the main UML, or against instance `instance`. */
  async mconsole(line: string, instance?: number): Promise<McResult> {
    const started = Date.now();
    const parsed = parseMconsoleCommand(line);
    if (!parsed.ok) return { command: line, ok: false, text: parsed.message, ms: 0 };
    if (instance !== undefined) return this.instanceMconsole(instance, parsed.line, parsed.command, started);
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

  private async instanceMconsole(n: number, line: string, command: string, started: number): Promise<McResult> {
    const instance = this.instanceMap.get(n);
    if (!instance || instance.state === "halted" || instance.state === "crashed") {
      return { command: line, ok: false, text: `Instance ${n} is not running.`, ms: 0 };
    }
    let reply: string;
    try {
      reply = await this.machine.agentRequest(`imconsole ${n} ${line}`, 30_000);
    } catch (err) {
      return { command: line, ok: false, text: err instanceof Error ? err.message : String(err), ms: Date.now() - started };
    }
    const result = parseMconsoleReply(new TextDecoder().decode(await this.share().read(`${PRIVATE_DIR}/mconsole`, true)));
    if (reply !== "ok mconsole 0" && result.ok) result.ok = false;
    if (result.ok && command === "stop") instance.state = "paused";
    if (result.ok && command === "go") instance.state = "running";
    // An instance's reboot restarts it in place; its shell's ready marker says when it is back.
    if (result.ok && (command === "reboot" || command === "cad")) instance.state = "booting";
    this.emit();
    return { command: line, ok: result.ok, text: result.text, ms: Date.now() - started };
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
      void this.restart().catch((err: unknown) => this.rebootFailed(err));
    }, REBOOT_GRACE_MS);
    this.stagesSinceReboot = 0;
    this.rebootPending = true;
  }

  private rebootFailed(err: unknown): void {
    this.set({ ...this.status, state: "crashed", panic: `reboot did not finish and the restart failed: ${err instanceof Error ? err.message : String(err)}` });
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
    this.restarting = true;
    try {
      await this.machine.agentRequest(`restart - ${kernel} ${check.args.join(" ") || "mem=64M"}`, 60_000);
    } finally {
      this.restarting = false;
    }
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

  private set(status: Omit<UmlStatus, "instances">): void {
    this.status = status;
    this.emit();
  }
}

/** Instance n's name and its port on the switch. */
export function instanceLink(n: number): { n: number; name: string; tap: string; mac: string } {
  return { n, name: `uml${n}`, tap: `tap${n}`, mac: `52:54:00:12:35:0${n}` };
}

const INSTANCES = Array.from({ length: MAX_INSTANCE - FIRST_INSTANCE + 1 }, (_, i) => FIRST_INSTANCE + i);

/** Whether an instance is up (its UML process runs), as opposed to absent, halted or crashed. */
function isUp(instance: InstanceStatus | undefined): boolean {
  return instance?.state === "booting" || instance?.state === "running" || instance?.state === "paused";
}

/** Where the host keeps a kernel: the initramfs for the built-in flavours, the share for uploads. */
export function kernelPath(kernel: string): string {
  return kernel.startsWith("upload:") ? `${LAB_DIR}/kernels/${kernel.slice("upload:".length)}` : `/opt/uml/${kernel}/linux`;
}
