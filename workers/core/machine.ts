// The emulated PC: v86 booting the host Linux that runs UML. Shared by the Web Worker and the Node CLI,
// so it uses neither DOM nor worker globals; runtime specifics come in through ArtifactSource and options.
import { V86, type V86Image, type V86Options } from "v86";
import { decompress as zstdDecompress } from "fzstd";
import { concatInitramfs, loadVerified, type ArtifactSource } from "./artifacts.ts";
import type { ArtifactName, ImageManifest, KernelFlavour, ManifestArtifact, ManifestSnapshot } from "./manifest.ts";
import { OscScanner } from "./osc-scanner.ts";
import { SparseImage } from "../disk/sparse-image.ts";
import { V86Disk, type CarriedBase } from "../disk/v86-disk.ts";
import { PendingBlockStore, type BlockStore } from "../disk/block-store.ts";
import { PersistentOverlay } from "../disk/persistent-overlay.ts";
import { ConsoleInputPump } from "./input-pump.ts";
import { AgentChannel } from "./agent-channel.ts";
import { releaseBacking, type BackingFile } from "./state-disk.ts";
import { busOf, cpuProbeOf, fileSystemOf, jitConfigOf, onJitModule, onVirtioConsoleOutput, setJitConfig, virtioConsoleControlQueue, virtioNetReceiveQueue, type JitConfig, type V86CpuProbe } from "./v86-internals.ts";
import { ShareFs } from "./share-fs.ts";
import { withFreshGuestMemory } from "./fresh-memory.ts";
import { ROOT_BLOCK_SIZE, startArtifacts, type ConsoleId } from "./machine-basics.ts";

export { CONSOLE_IDS, ROOT_BLOCK_SIZE, startArtifacts, type ConsoleId } from "./machine-basics.ts";

/** v86's wasm, fetched and compiled by the caller while the artifacts download. */
export interface WasmLoader {
  /** Settles once the module is compiled; a rejection fails the boot with its message. */
  ready: Promise<void>;
  instantiate: NonNullable<V86Options["wasm_fn"]>;
}

/** Boot stages in order; "halted" and "error" are terminal. */
export type BootStage = "idle" | "download" | "bios" | "host-kernel" | "uml-kernel" | "restore" | "ready" | "halted" | "error";

export interface StageEvent {
  stage: BootStage;
  /** Milliseconds since boot() was called. */
  at: number;
  detail?: string;
}

export interface DownloadProgress {
  artifact: ArtifactName | "snapshot";
  file: string;
  loaded: number;
  total: number;
}

export interface MachineEvents {
  stage(event: StageEvent): void;
  download(progress: DownloadProgress): void;
  /** Console bytes, batched per emulator tick. */
  output(id: ConsoleId, bytes: Uint8Array): void;
  /** Bytes from the host's console multiplexer (virtio-console port 2): UML's extra consoles. */
  mux?(bytes: Uint8Array): void;
  /** UML exited (halt, poweroff, crash): its status and, after a panic, the panic text from its console. */
  umlExited?(status: number, panic: string | undefined): void;
  /** UML's shell announced itself (each boot of UML, reboots in place included). */
  umlReady?(): void;
  /** A UML instance beside the main one (umlab-instance on the host) started or exited. */
  instance?(event: InstanceEvent): void;
}

export type InstanceEvent = { kind: "started"; n: number; umid: string } | { kind: "exited"; n: number; status: number };

/**
 * How the machine starts: booting the host kernel, or restoring a saved v86 state (the pre-booted
 * snapshot shipped with the images, or a session the user saved). A state holds both disks' overlay
 * blocks, so it restores onto exactly the disk content it was taken with.
 */
export type MachineStart =
  | { kind: "cold" }
  | { kind: "snapshot"; artifact: ManifestSnapshot; hostMemoryMiB: number }
  | { kind: "resume"; state: Uint8Array; hostMemoryMiB: number };

export interface MachineOptions {
  manifest: ImageManifest;
  /** UML's COW device (the host's /dev/sdb); it must already hold a COW header unless a state restores it. */
  stateDisk: PersistentOverlay;
  /** The file in /images the COW names; default the release's root image. */
  backing?: BackingFile;
  /** The lab's changes to the rootfs disk (sda) from merges, by 4 KiB block; default none. */
  rootDiskBlocks?: ReadonlyMap<number, Uint8Array>;
  /** Default: a cold boot. */
  start?: MachineStart;
  source: ArtifactSource;
  kernel: KernelFlavour;
  /** v86's wasm, compiled by the caller: the page fetches a gzipped copy, Node reads the package's file. */
  wasm: WasmLoader;
  /** Host RAM in MiB. UML's mem= lives in the host's /dev/shm, so this must exceed it comfortably. */
  hostMemoryMiB?: number;
  /** UML's mem= value, e.g. "64M". */
  umlMemory?: string;
  /** Show UML's boot messages (drops `quiet` from UML's command line). */
  verbose?: boolean;
  /** Extra UML kernel arguments. */
  umlArgs?: readonly string[];
  /** Saved states carry the rootfs disk's image (the pre-booted snapshot's build sets this). */
  carryRootDisk?: boolean;
  /**
   * The other end of the host's NIC (virtio-net); default none, and the guest's frames go nowhere.
   * "v86-fetch" hands the NIC to v86's own fetch backend instead: the benchmark's peer figure.
   */
  network?: NetworkAdapter | "v86-fetch";
}

/** The NIC seam: the machine hands the guest's frames to an adapter, which answers through `deliver`. */
export interface NetworkAdapter {
  /** A frame the guest sent. */
  receive(frame: Uint8Array): void;
  /** Called once the NIC exists: frames given to `deliver` reach the guest. */
  attach(deliver: (frame: Uint8Array) => void): void;
}

// init_on_free=1: freed pages are zeroed, so a saved state (which stores only non-zero pages) stays small.
// norandmaps: with host ASLR, UML grew its memory by a ~31 MB "exec-shield gap" that cost boot time.
// loglevel=6: the host prints its notices and warnings, starting with "Linux version", which marks the
// host-kernel stage; its info chatter would cost boot time on the serial port.
// pty.legacy_count=4: four BSD ptys (for UML's con=pty) instead of 256, whose 512 device nodes took over a
// second of the host's boot.
const HOST_CMDLINE = "console=ttyS0 tsc=reliable mitigations=off random.trust_cpu=on norandmaps init_on_free=1 loglevel=6 pty.legacy_count=4";

export interface UmlLaunch {
  kernel: KernelFlavour;
  memory: string;
  verbose: boolean;
  /** Extra UML arguments; none may contain spaces or commas. */
  args: readonly string[];
}

export function hostCommandLine(backing: BackingFile, uml: UmlLaunch): string {
  for (const arg of uml.args) {
    if (/[\s,]/.test(arg) || arg === "") throw new Error(`UML argument "${arg}" may not be empty or contain spaces or commas`);
  }
  const words = [
    HOST_CMDLINE,
    `umlab.kernel=${uml.kernel}`,
    `umlab.mem=${uml.memory}`,
    `umlab.backing=${backing.file}`,
    ...(uml.verbose ? ["umlab.verbose=1"] : []),
    ...(uml.args.length > 0 ? [`umlab.args=${uml.args.join(",")}`] : []),
  ];
  return words.join(" ");
}

/**
 * v86's JIT compiles the guest code that gets hot into wasm modules, and the browser then recompiles their
 * large functions with its optimizing tier on other threads: 0.3-0.5 s of CPU for each of dozens of modules,
 * which starve the emulator on a small machine (docs/performance.md, fourteenth round). So:
 * - a boot or restore runs in v86's interpreter: the JIT is off until the lab is ready (JIT_HELD_STAGES);
 * - then modules span one page and few extra blocks, so each compiles in a fraction of the time.
 */
const JIT_HELD_STAGES: ReadonlySet<BootStage> = new Set(["idle", "download", "bios", "host-kernel", "uml-kernel", "restore"]);
const JIT_SETTINGS: Omit<JitConfig, "disabled"> = { maxPages: 1, maxExtraBasicBlocks: 10 };

const RESIZE_RETRY_MS = 20;
const NIC_QUEUE_FRAMES = 512;
const NIC_RETRY_MS = 2;

export class Machine {
  private emulator: V86 | undefined;
  private stageValue: BootStage = "idle";
  /** v86's JIT is off until the boot (or restore) is over. */
  private jitHeld = false;
  private jitModuleCount: number | undefined;
  private startedAt = 0;
  private readonly osc = new OscScanner();
  private readonly hostBatch: number[] = [];
  private hostFlushQueued = false;
  private umlInput: ConsoleInputPump | undefined;
  private agentInput: ConsoleInputPump | undefined;
  private muxInputPump: ConsoleInputPump | undefined;
  private readonly agent = new AgentChannel((bytes) => this.agentInput?.push(bytes));
  /** The end of UML's console output, where a panic's text is found once UML exits. */
  private umlTail = "";
  private readonly tailDecoder = new TextDecoder();
  private readonly stateDiskV86: V86Disk;
  private umid: string | undefined;
  private rootDiskValue: PersistentOverlay | undefined;
  private readonly stageTimes: Partial<Record<BootStage, number>> = {};
  private size: { cols: number; rows: number } = { cols: 80, rows: 24 };
  private stopped = false;
  private booted = false;
  private preparing: Promise<void> | undefined;
  private pendingResize = false;
  private resizeTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly nicQueue: Uint8Array[] = [];
  private nicTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly options: MachineOptions,
    private readonly events: MachineEvents,
  ) {
    this.stateDiskV86 = new V86Disk(options.stateDisk);
  }

  private get stateDisk(): V86Disk {
    return this.stateDiskV86;
  }

  /** The rootfs disk (sda) as this machine sees it, once booted: the release's disk plus merges. */
  get rootDisk(): PersistentOverlay | undefined {
    return this.rootDiskValue;
  }

  get stage(): BootStage {
    return this.stageValue;
  }

  /** The emulated CPU for `umlab profile`, from the "bios" or "restore" stage on; undefined before. */
  get cpuProbe(): V86CpuProbe | undefined {
    return this.emulator ? cpuProbeOf(this.emulator) : undefined;
  }

  /** v86's JIT settings now (undefined before the emulator exists, or if this v86 build hides them). */
  get jitConfig(): JitConfig | undefined {
    return this.emulator ? jitConfigOf(this.emulator) : undefined;
  }

  /** Modules of guest code v86's JIT has compiled since the start (undefined if this v86 build hides them). */
  get jitModules(): number | undefined {
    return this.jitModuleCount;
  }

  get status(): { stage: BootStage; kernel: KernelFlavour; umid: string | undefined; stageTimes: Partial<Record<BootStage, number>> } {
    return { stage: this.stageValue, kernel: this.options.kernel, umid: this.umid, stageTimes: { ...this.stageTimes } };
  }

  /**
   * Downloads, boots or restores the machine and, after a restore, sets its clocks. Stage times count
   * from this call, also when prepare() ran earlier.
   */
  async boot(): Promise<void> {
    if (this.booted) throw new Error(`boot() called twice (machine is ${this.stageValue})`);
    this.booted = true;
    this.startedAt = Date.now();
    const start = this.options.start ?? { kind: "cold" };
    await (this.preparing ??= this.load());
    const emulator = this.emulator;
    if (this.stopped || !emulator) return;
    try {
      await emulator.run();
      if (start.kind !== "cold") await this.afterRestore();
    } catch (err) {
      this.setStage("error", err instanceof Error ? err.message : String(err));
      throw err;
    }
  }

  /**
   * Everything before the emulated CPU runs: the downloads, and v86 set up (a state restored) but paused.
   * A worker may call it before the page asks for the boot; boot() then only has to run the machine.
   */
  prepare(): Promise<void> {
    return (this.preparing ??= this.load());
  }

  private async load(): Promise<void> {
    const { manifest, kernel } = this.options;
    const start = this.options.start ?? { kind: "cold" };
    try {
      this.setStage("download");
      // ManifestSnapshot.rootDiskBytes: the snapshot carries the rootfs disk.
      const carriedBytes = start.kind === "snapshot" ? start.artifact.rootDiskBytes : undefined;
      const names = startArtifacts(manifest, kernel, start.kind, carriedBytes !== undefined);
      const downloads: Promise<Uint8Array>[] = names.map((name) => this.download(name, manifest.artifacts[name]));
      // v86 is built while the snapshot still downloads (about 60 ms of its set-up), and restores it after.
      const snapshot = start.kind === "snapshot" ? this.download("snapshot", start.artifact) : undefined;
      snapshot?.catch(() => undefined);
      const loaded = await Promise.all(downloads);
      if (this.stopped) return;
      const [bios, vgaBios] = loaded as [Uint8Array, Uint8Array];
      let rootBase: BlockStore;
      let carried: CarriedBase | undefined;
      let pending: PendingBlockStore | undefined;
      if (carriedBytes !== undefined) {
        const late = new PendingBlockStore(carriedBytes);
        rootBase = pending = late;
        carried = { restore: (bytes) => late.resolve(new SparseImage(bytes)) };
      } else {
        const rootfsZst = loaded[names.indexOf("rootfs")];
        if (!rootfsZst) throw new Error("rootfs was not downloaded");
        const sparse = new SparseImage(zstdDecompress(rootfsZst));
        rootBase = sparse;
        if (this.options.carryRootDisk) carried = { embed: () => sparse.encodedBytes, restore: () => undefined };
      }
      // Never committed by itself: a merge stores its blocks together with the fresh COW, in one transaction.
      this.rootDiskValue = new PersistentOverlay(rootBase, { blockSize: ROOT_BLOCK_SIZE, stored: this.options.rootDiskBlocks });
      const rootfs = new V86Disk(this.rootDiskValue, carried);
      const image: Partial<V86Options> =
        start.kind === "cold"
          ? {
              bzimage: buf(loaded[2] as Uint8Array),
              // Decompressed here: fzstd takes a fraction of the seconds the emulated kernel would.
              initrd: buf(concatInitramfs([zstdDecompress(loaded[3] as Uint8Array), zstdDecompress(loaded[4] as Uint8Array)])),
              cmdline: hostCommandLine(this.options.backing ?? releaseBacking(manifest), { kernel, memory: this.options.umlMemory ?? "64M", verbose: this.options.verbose ?? false, args: this.options.umlArgs ?? [] }),
            }
          : {};
      // v86 decompresses a zstd state itself.
      const state = start.kind === "cold" ? undefined : start.kind === "snapshot" ? (snapshot as Promise<Uint8Array>) : Promise.resolve(start.state);
      const memoryMiB = start.kind === "cold" ? (this.options.hostMemoryMiB ?? 256) : start.hostMemoryMiB;
      await this.start(bios, vgaBios, rootfs, memoryMiB, image, state);
      if (this.stopped) return;
      if (pending && !pending.resolved) throw new Error(`the snapshot ${start.kind === "snapshot" ? start.artifact.file : ""} does not carry the root disk its manifest says it does`);
    } catch (err) {
      this.setStage("error", err instanceof Error ? err.message : String(err));
      throw err;
    }
  }

  private download(name: ArtifactName | "snapshot", artifact: ManifestArtifact): Promise<Uint8Array> {
    return loadVerified(this.options.source, name, artifact, (n) => this.events.download({ artifact: name, file: artifact.file, loaded: n, total: artifact.size }));
  }

  /** A restored machine is at a shell prompt, but its clocks say when the state was saved: set them. */
  private async afterRestore(): Promise<void> {
    // The UML console as saved may be older than its terminal's size; the OSC ready is not sent again.
    this.resize("uml", this.size.cols, this.size.rows);
    const reply = await this.agent.request(`time ${Math.floor(Date.now() / 1000)}`);
    if (!/ uml=ok$/.test(reply)) this.events.output("uml", new TextEncoder().encode(`\r\n[umlab: could not set UML's clock after the restore (${reply})]\r\n`));
    this.setStage("ready");
  }

  /** Builds v86 paused and, given a saved state, restores it once it has arrived. */
  private async start(bios: Uint8Array, vgaBios: Uint8Array, rootfs: V86Disk, memoryMiB: number, image: Partial<V86Options>, state: Promise<Uint8Array> | undefined): Promise<void> {
    const wasm = this.options.wasm;
    // v86 never reports a failed wasm load (it would wait forever), so a loader's failure ends the boot here.
    await wasm.ready;
    const restoring = state !== undefined;
    const options: V86Options = {
      wasm_fn: restoring ? async (imports) => withFreshGuestMemory(await wasm.instantiate(imports)) : wasm.instantiate,
      memory_size: memoryMiB * 1024 * 1024,
      vga_memory_size: 2 * 1024 * 1024,
      bios: buf(bios),
      vga_bios: buf(vgaBios),
      ...image,
      // v86 takes any object with get/set/load as a disk; its typings only list its own image kinds.
      hda: rootfs as unknown as V86Image,
      hdb: this.stateDisk as unknown as V86Image,
      virtio_console: { type: "none" },
      // Always present, so every saved state has the same devices; a restore keeps the guest's MAC.
      // The page's files, mounted by the host at /lab (see ShareFs); empty at a cold boot.
      filesystem: {},
      net_device: this.options.network === "v86-fetch" ? { type: "virtio", relay_url: "fetch" } : { type: "virtio" },
      preserve_mac_from_state_image: true,
      // boot() runs it, so a machine prepared ahead of the page's boot call waits paused.
      autostart: false,
      disable_keyboard: true,
      disable_mouse: true,
      disable_speaker: true,
    };
    const emulator = new V86(options);
    this.emulator = emulator;
    emulator.add_listener("emulator-started", () => {
      if (this.stageValue === "download") this.setStage(restoring ? "restore" : "bios");
    });
    emulator.add_listener("serial0-output-byte", (byte) => this.onHostByte(byte));
    emulator.add_listener("virtio-console0-output-bytes", (bytes) => this.onUmlBytes(bytes));
    onVirtioConsoleOutput(emulator, 1, (bytes) => this.agent.receive(bytes));
    onVirtioConsoleOutput(emulator, 2, (bytes) => this.events.mux?.(bytes));
    const network = this.options.network;
    if (network && network !== "v86-fetch") {
      emulator.add_listener("net0-send", (frame) => network.receive(frame));
      network.attach((frame) => this.toNic(frame));
    }
    this.umlInput = new ConsoleInputPump(emulator, 0);
    this.agentInput = new ConsoleInputPump(emulator, 1);
    this.muxInputPump = new ConsoleInputPump(emulator, 2);
    // Sent once v86 has set up its CPU and devices (and restored an initial_state, which is not given here).
    await new Promise<void>((resolve) => emulator.add_listener("emulator-loaded", () => resolve()));
    if (state) {
      const bytes = await state;
      if (this.stopped) return;
      // What v86's initial_state option does after the same set-up (v86 0.5.462's starter): one call.
      await emulator.restore_state(toArrayBuffer(bytes));
    }
    this.jitHeld = setJitConfig(emulator, { ...JIT_SETTINGS, disabled: 1 });
    if (onJitModule(emulator, () => (this.jitModuleCount = (this.jitModuleCount ?? 0) + 1))) this.jitModuleCount = 0;
  }

  /**
   * A frame for the guest's NIC. v86 drops a frame when the guest has no receive buffer posted, so
   * frames wait here (a bounded queue, like a NIC's FIFO) until the guest refills its ring.
   */
  private toNic(frame: Uint8Array): void {
    if (this.nicQueue.length >= NIC_QUEUE_FRAMES) return; // a full FIFO drops, as hardware does; TCP recovers
    this.nicQueue.push(frame);
    this.flushNic();
  }

  private flushNic(): void {
    const emulator = this.emulator;
    if (!emulator || this.nicTimer !== undefined) return;
    const queue = virtioNetReceiveQueue(emulator);
    const bus = busOf(emulator);
    while (this.nicQueue.length > 0 && (!queue || queue.has_request())) bus.send("net0-receive", this.nicQueue.shift());
    if (this.nicQueue.length > 0) {
      this.nicTimer = setTimeout(() => {
        this.nicTimer = undefined;
        this.flushNic();
      }, NIC_RETRY_MS);
    }
  }

  /** UML is going down to boot again (a merge): the lab is not ready until the new UML's shell says so. */
  umlRestarting(reason: string): void {
    this.setStage("uml-kernel", reason);
  }

  /** Asks the host agent something (see images/initramfs/files/usr/sbin/umlab-agent). */
  agentRequest(command: string, timeoutMs?: number): Promise<string> {
    return this.agent.request(command, timeoutMs);
  }

  /** Bytes for the host's console multiplexer (virtio-console port 2). */
  muxInput(bytes: Uint8Array): void {
    this.muxInputPump?.push(bytes);
  }

  /** The shared directory (v86's 9p filesystem, the host's /lab); undefined before the emulator runs. */
  get share(): ShareFs | undefined {
    const fs = this.emulator && fileSystemOf(this.emulator);
    return fs ? new ShareFs(fs) : undefined;
  }

  /**
   * Saves RAM and both disks at one instant. The CPU is paused first and every disk write the guest
   * issued is allowed to complete, so the state holds no half-finished disk command.
   */
  async saveState(): Promise<{ state: Uint8Array; diskGeneration: number }> {
    const emulator = this.emulator;
    if (!emulator || this.stageValue !== "ready") throw new Error(`cannot save the machine while it is ${this.stageValue}`);
    await emulator.stop();
    try {
      await this.stateDiskV86.whenIdle();
      // Every write the guest issued has completed, and completion waits for the commit: the state's disk
      // is the one stored at this generation.
      const state = new Uint8Array(await emulator.save_state());
      return { state, diskGeneration: this.options.stateDisk.status.generation };
    } finally {
      if (this.emulator === emulator) await emulator.run();
    }
  }

  /** Sends keystrokes or pasted text to a console. */
  sendInput(id: ConsoleId, bytes: Uint8Array): void {
    const emulator = this.emulator;
    if (!emulator) return;
    if (id === "uml") this.umlInput?.push(bytes);
    else emulator.serial_send_bytes(0, bytes);
  }

  /** Propagates a terminal size: virtio-console tells hvc0, whose SIGWINCH UML forwards to its own tty. */
  resize(id: ConsoleId, cols: number, rows: number): void {
    if (id !== "uml") return;
    this.size = { cols, rows };
    this.pendingResize = true;
    this.flushResize();
  }

  /** Sends the latest size once the guest has a control buffer free: v86 drops a resize that finds none. */
  private flushResize(): void {
    const emulator = this.emulator;
    if (!emulator || !this.pendingResize || this.resizeTimer !== undefined) return;
    const control = virtioConsoleControlQueue(emulator);
    if (control && !control.has_request()) {
      this.resizeTimer = setTimeout(() => {
        this.resizeTimer = undefined;
        this.flushResize();
      }, RESIZE_RETRY_MS);
      return;
    }
    this.pendingResize = false;
    const { cols, rows } = this.size;
    // v86 0.5.462 writes the resize message as (rows, cols), the order of Linux before 6.1.42; since then
    // Linux reads the spec's (cols, rows). Handing v86 the pair swapped puts each value where Linux looks.
    busOf(emulator).send("virtio-console0-resize", [rows, cols]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const emulator = this.emulator;
    this.emulator = undefined;
    this.umlInput?.dispose();
    this.agentInput?.dispose();
    this.muxInputPump?.dispose();
    if (this.resizeTimer !== undefined) clearTimeout(this.resizeTimer);
    if (this.nicTimer !== undefined) clearTimeout(this.nicTimer);
    this.nicQueue.length = 0;
    if (emulator) await emulator.destroy();
    if (this.stageValue !== "error") this.setStage("halted", "stopped");
  }

  private onHostByte(byte: number): void {
    if (this.stageValue === "bios") this.setStage("host-kernel");
    this.hostBatch.push(byte);
    if (!this.hostFlushQueued) {
      this.hostFlushQueued = true;
      // v86 emits serial output a byte at a time; one message per emulator tick is enough.
      queueMicrotask(() => {
        this.hostFlushQueued = false;
        const bytes = Uint8Array.from(this.hostBatch);
        this.hostBatch.length = 0;
        this.events.output("host", bytes);
      });
    }
  }

  private onUmlBytes(bytes: Uint8Array): void {
    this.umlTail = (this.umlTail + this.tailDecoder.decode(bytes, { stream: true })).slice(-UML_TAIL_CHARS);
    for (const marker of this.osc.scan(bytes)) this.onMarker(marker);
    this.events.output("uml", bytes);
  }

  private onMarker(marker: string): void {
    const [word, ...rest] = marker.split(" ");
    if (word === "uml-kernel") {
      this.umid = rest[1];
      this.umlTail = "";
      this.setStage("uml-kernel", rest.join(" "));
    } else if (word === "ready") {
      this.events.umlReady?.();
      // The guest's size may predate the terminal's; say it again now that a shell listens.
      this.resize("uml", this.size.cols, this.size.rows);
      if (this.stageValue !== "ready") this.setStage("ready");
    } else if (word === "uml-exited") {
      const status = Number(rest[0] ?? "NaN");
      // The host stays up, and UML can start again (restartUml). Only a UML that never reached its shell
      // ends the boot ("halted"), so a boot that waits for the shell stops waiting.
      if (this.stageValue !== "ready") this.setStage("halted", `UML exited with status ${rest[0] ?? "?"}${rest.length > 1 ? `: ${rest.slice(1).join(" ")}` : ""}`);
      this.events.umlExited?.(Number.isFinite(status) ? status : -1, panicText(this.umlTail) ?? (rest.slice(1).join(" ") || undefined));
    } else if (word === "instance" && rest[1]) {
      this.events.instance?.({ kind: "started", n: Number(rest[0]), umid: rest[1] });
    } else if (word === "instance-exited") {
      const status = Number(rest[1] ?? "NaN");
      this.events.instance?.({ kind: "exited", n: Number(rest[0]), status: Number.isFinite(status) ? status : -1 });
    } else if (word === "error") {
      this.setStage("error", rest.join(" "));
    }
  }

  private setStage(stage: BootStage, detail?: string): void {
    if (this.stageValue === stage) return;
    this.stageValue = stage;
    const at = this.startedAt ? Date.now() - this.startedAt : 0;
    this.stageTimes[stage] = at;
    if (this.jitHeld && !JIT_HELD_STAGES.has(stage) && this.emulator) {
      setJitConfig(this.emulator, { disabled: 0 });
      this.jitHeld = false;
    }
    this.events.stage(detail === undefined ? { stage, at } : { stage, at, detail });
  }
}

/** Enough of UML's console to hold a panic message and its backtrace. */
const UML_TAIL_CHARS = 16_384;

/** The panic message in UML's last console output, from "Kernel panic" on, without terminal escapes. */
export function panicText(tail: string): string | undefined {
  const at = tail.lastIndexOf("Kernel panic");
  if (at < 0) return undefined;
  // eslint-disable-next-line no-control-regex -- ESC sequences and the OSC marker are what is stripped
  return tail.slice(at).replace(/\x1b\][^\x07]*\x07|\x1b\[[0-9;?]*[A-Za-z]/g, "").replace(/\r/g, "").trimEnd();
}

function buf(bytes: Uint8Array): { buffer: ArrayBuffer } {
  return { buffer: toArrayBuffer(bytes) };
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) return bytes.buffer;
  return bytes.slice().buffer;
}
