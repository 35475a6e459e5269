// The emulator worker's public surface. src/ imports these with `import type` only.
import type { BootStage, ConsoleId, DownloadProgress, StageEvent } from "./core/machine.ts";
import type { ImageManifest, KernelFlavour } from "./core/manifest.ts";

export type { BootStage, ConsoleId, DownloadProgress, ImageManifest, KernelFlavour, StageEvent };

export interface BootOptions {
  /** Absolute URL of images/manifest.json; artifact files are fetched relative to it. */
  manifestUrl: string;
  kernel: KernelFlavour;
  /** UML's mem=, e.g. "64M". */
  umlMemory?: string;
}

/** Progress callbacks, passed through comlink.proxy(). */
export interface BootObserver {
  stage(event: StageEvent): void;
  download(progress: DownloadProgress): void;
}

export type BootErrorKind = "manifest-missing" | "manifest-invalid" | "artifact-missing" | "artifact-corrupt" | "emulator";

export interface BootError {
  kind: BootErrorKind;
  message: string;
  /** The artifact's file name, for artifact errors. */
  file?: string;
}

export type BootResult = { ok: true; manifest: ImageManifest } | { ok: false; error: BootError };

export interface MachineStatus {
  stage: BootStage;
  kernel: KernelFlavour | undefined;
  umid: string | undefined;
  /** Milliseconds from boot() to the start of each stage reached so far. */
  stageTimes: Partial<Record<BootStage, number>>;
}

/** Messages on a console's MessagePort; `output` flows worker → page, the others page → worker. */
export interface ConsolePortEvents {
  output: Uint8Array;
  input: Uint8Array;
  resize: readonly [cols: number, rows: number];
}

export type ConsolePortMessage = { [K in keyof ConsolePortEvents]: { type: K; data: ConsolePortEvents[K] } }[keyof ConsolePortEvents];

export interface EmulatorApi {
  /** Takes one MessagePort per console (transferred); console bytes flow on them, not through RPC. */
  attachConsoles(ports: Record<ConsoleId, MessagePort>): void;
  boot(options: BootOptions, observer: BootObserver): Promise<BootResult>;
  stop(): Promise<void>;
  status(): MachineStatus;
}
