// The emulated PC: v86 booting the host Linux that runs UML. Shared by the Web Worker and the Node CLI,
// so it uses neither DOM nor worker globals; runtime specifics come in through ArtifactSource and options.
import { V86, type V86Image, type V86Options } from "v86";
import { decompress as zstdDecompress } from "fzstd";
import { concatInitramfs, loadVerified, type ArtifactSource } from "./artifacts.ts";
import type { ArtifactName, ImageManifest, KernelFlavour } from "./manifest.ts";
import { OscScanner } from "./osc-scanner.ts";
import { SparseImage } from "../disk/sparse-image.ts";
import { V86Disk } from "../disk/v86-disk.ts";
import { ConsoleInputPump } from "./input-pump.ts";
import { busOf, virtioConsoleControlQueue } from "./v86-internals.ts";

export type ConsoleId = "uml" | "host";
export const CONSOLE_IDS: readonly ConsoleId[] = ["uml", "host"];

/** Boot stages in order; "halted" and "error" are terminal. */
export type BootStage = "idle" | "download" | "bios" | "host-kernel" | "uml-kernel" | "ready" | "halted" | "error";

export interface StageEvent {
  stage: BootStage;
  /** Milliseconds since boot() was called. */
  at: number;
  detail?: string;
}

export interface DownloadProgress {
  artifact: ArtifactName;
  file: string;
  loaded: number;
  total: number;
}

export interface MachineEvents {
  stage(event: StageEvent): void;
  download(progress: DownloadProgress): void;
  /** Console bytes, batched per emulator tick. */
  output(id: ConsoleId, bytes: Uint8Array): void;
}

export interface MachineOptions {
  manifest: ImageManifest;
  source: ArtifactSource;
  kernel: KernelFlavour;
  /** URL (browser) or path (Node) of v86.wasm. */
  wasmPath: string;
  /** Host RAM in MiB. UML's mem= lives in the host's /dev/shm, so this must exceed it comfortably. */
  hostMemoryMiB?: number;
  /** UML's mem= value, e.g. "64M". */
  umlMemory?: string;
  /** Show UML's boot messages (drops `quiet` from UML's command line). */
  verbose?: boolean;
  /** Extra UML kernel arguments. */
  umlArgs?: readonly string[];
}

// norandmaps: with host ASLR, UML grew its memory by a ~31 MB "exec-shield gap" that cost boot time.
// loglevel=6: the host prints its notices and warnings, starting with "Linux version", which marks the
// host-kernel stage; its info chatter would cost boot time on the serial port.
const HOST_CMDLINE = "console=ttyS0 tsc=reliable mitigations=off random.trust_cpu=on norandmaps loglevel=6";

export interface UmlLaunch {
  kernel: KernelFlavour;
  memory: string;
  verbose: boolean;
  /** Extra UML arguments; none may contain spaces or commas. */
  args: readonly string[];
}

export function hostCommandLine(manifest: ImageManifest, uml: UmlLaunch): string {
  for (const arg of uml.args) {
    if (/[\s,]/.test(arg) || arg === "") throw new Error(`UML argument "${arg}" may not be empty or contain spaces or commas`);
  }
  const words = [
    HOST_CMDLINE,
    `umlab.kernel=${uml.kernel}`,
    `umlab.mem=${uml.memory}`,
    `umlab.rootfs=${manifest.artifacts.rootfs.sha256.slice(0, 12)}`,
    ...(uml.verbose ? ["umlab.verbose=1"] : []),
    ...(uml.args.length > 0 ? [`umlab.args=${uml.args.join(",")}`] : []),
  ];
  return words.join(" ");
}

const RESIZE_RETRY_MS = 20;

export class Machine {
  private emulator: V86 | undefined;
  private stageValue: BootStage = "idle";
  private startedAt = 0;
  private readonly osc = new OscScanner();
  private readonly hostBatch: number[] = [];
  private hostFlushQueued = false;
  private umlInput: ConsoleInputPump | undefined;
  private umid: string | undefined;
  private readonly stageTimes: Partial<Record<BootStage, number>> = {};
  private size: { cols: number; rows: number } = { cols: 80, rows: 24 };
  private stopped = false;
  private pendingResize = false;
  private resizeTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly options: MachineOptions,
    private readonly events: MachineEvents,
  ) {}

  get stage(): BootStage {
    return this.stageValue;
  }

  get status(): { stage: BootStage; kernel: KernelFlavour; umid: string | undefined; stageTimes: Partial<Record<BootStage, number>> } {
    return { stage: this.stageValue, kernel: this.options.kernel, umid: this.umid, stageTimes: { ...this.stageTimes } };
  }

  async boot(): Promise<void> {
    if (this.stageValue !== "idle") throw new Error(`boot() called twice (machine is ${this.stageValue})`);
    this.startedAt = Date.now();
    const { manifest, kernel } = this.options;
    try {
      this.setStage("download");
      const kernelArtifact = manifest.kernels[kernel].artifact;
      const names: ArtifactName[] = ["bios", "vgaBios", "hostKernel", "hostInitramfs", kernelArtifact, "rootfs"];
      const loaded = await Promise.all(
        names.map((name) => {
          const a = manifest.artifacts[name];
          return loadVerified(this.options.source, name, a, (n) => this.events.download({ artifact: name, file: a.file, loaded: n, total: a.size }));
        }),
      );
      const [bios, vgaBios, bzImage, hostInitramfs, umlKernel, rootfsZst] = loaded as [Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array];
      if (this.stopped) return;
      const rootfs = new V86Disk(new SparseImage(zstdDecompress(rootfsZst)));
      await this.start(bios, vgaBios, bzImage, concatInitramfs([hostInitramfs, umlKernel]), rootfs);
    } catch (err) {
      this.setStage("error", err instanceof Error ? err.message : String(err));
      throw err;
    }
  }

  private async start(bios: Uint8Array, vgaBios: Uint8Array, bzImage: Uint8Array, initrd: Uint8Array, rootfs: V86Disk): Promise<void> {
    const { manifest, kernel } = this.options;
    const buf = (b: Uint8Array): { buffer: ArrayBuffer } => ({ buffer: toArrayBuffer(b) });
    const options: V86Options = {
      wasm_path: this.options.wasmPath,
      memory_size: (this.options.hostMemoryMiB ?? 256) * 1024 * 1024,
      vga_memory_size: 2 * 1024 * 1024,
      bios: buf(bios),
      vga_bios: buf(vgaBios),
      bzimage: buf(bzImage),
      initrd: buf(initrd),
      cmdline: hostCommandLine(manifest, { kernel, memory: this.options.umlMemory ?? "64M", verbose: this.options.verbose ?? false, args: this.options.umlArgs ?? [] }),
      // v86 takes any object with get/set/load as a disk; its typings only list its own image kinds.
      hda: rootfs as unknown as V86Image,
      virtio_console: { type: "none" },
      autostart: true,
      disable_keyboard: true,
      disable_mouse: true,
      disable_speaker: true,
    };
    const emulator = new V86(options);
    this.emulator = emulator;
    emulator.add_listener("emulator-started", () => this.setStage("bios"));
    emulator.add_listener("serial0-output-byte", (byte) => this.onHostByte(byte));
    emulator.add_listener("virtio-console0-output-bytes", (bytes) => this.onUmlBytes(bytes));
    this.umlInput = new ConsoleInputPump(emulator, 0);
    await new Promise<void>((resolve) => emulator.add_listener("emulator-ready", () => resolve()));
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
    if (this.resizeTimer !== undefined) clearTimeout(this.resizeTimer);
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
    for (const marker of this.osc.scan(bytes)) this.onMarker(marker);
    this.events.output("uml", bytes);
  }

  private onMarker(marker: string): void {
    const [word, ...rest] = marker.split(" ");
    if (word === "uml-kernel") {
      this.umid = rest[1];
      this.setStage("uml-kernel", rest.join(" "));
    } else if (word === "ready") {
      // The guest's size may predate the terminal's; say it again now that a shell listens.
      this.resize("uml", this.size.cols, this.size.rows);
      if (this.stageValue !== "ready") this.setStage("ready");
    } else if (word === "uml-exited") {
      this.setStage("halted", `UML exited with status ${rest[0] ?? "?"}`);
    } else if (word === "error") {
      this.setStage("error", rest.join(" "));
    }
  }

  private setStage(stage: BootStage, detail?: string): void {
    if (this.stageValue === stage) return;
    this.stageValue = stage;
    const at = this.startedAt ? Date.now() - this.startedAt : 0;
    this.stageTimes[stage] = at;
    this.events.stage(detail === undefined ? { stage, at } : { stage, at, detail });
  }
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) return bytes.buffer;
  return bytes.slice().buffer;
}
