// The emulator worker's public surface. src/ imports these with `import type` only.
import type { BootStage, ConsoleId, DownloadProgress, StageEvent } from "./core/machine.ts";
import type { ImageManifest, KernelFlavour } from "./core/manifest.ts";
import type { OverlayStatus } from "./disk/persistent-overlay.ts";
import type { GuestRequest, GuestResponse } from "./net/guest-http.ts";
import type { NetCounters } from "./net/stack.ts";
import type { TcpCounters } from "./net/tcp.ts";
import type { CmdCheck, InstanceStatus, McResult, UmlStatus, UploadCheck } from "./core/uml-control.ts";
import type { ShareEntry } from "./core/share-fs.ts";

export type { BootStage, ConsoleId, DownloadProgress, GuestRequest, GuestResponse, ImageManifest, KernelFlavour, StageEvent };

/** The guest network's transports (see docs/networking.md). */
export interface NetworkOptions {
  /** "v86-fetch": v86's own fetch backend instead of umlab's stack (the benchmark's peer); default "umlab". */
  backend?: "umlab" | "v86-fetch";
  /** ws:// or wss:// URL of a Wisp relay: any TCP (and UDP) out. Without it, only fetch and loopback work. */
  relayUrl?: string;
  /** "ip:port" of a DNS server the relay can reach (UDP): names are resolved there. Default: stand-ins. */
  relayDns?: string;
  /** A DNS-over-HTTPS endpoint (RFC 8484), asked for names the hosts table lacks. */
  dohUrl?: string;
  /** Host patterns fetch may reach ("example.com", "*.example.com", "*"); default any public name. */
  fetchAllow?: string[];
  /** Names the DNS server answers itself. */
  hosts?: Record<string, string>;
}

export interface NetworkStatus {
  /** What carries TCP beyond the segment. */
  transport: "relay" | "fetch";
  relay?: { url: string; state: "connecting" | "open" | "closed"; streams: number; error?: string };
  leases: Array<{ mac: string; ip: string; owner: "uml" | "host" }>;
  /** UML's eth0 address, once it took a lease (or was seen using one). */
  umlAddress?: string;
  tcp: TcpCounters;
  frames: NetCounters;
}

/**
 * How to start:
 * - "auto": resume the newest saved session if it was taken with the disk as it is now; else restore the
 *   pristine snapshot if the disk is pristine; else cold-boot with the disk.
 * - "cold": cold-boot with the disk as it is (pristine or not).
 * - { session }: resume that saved session; its disk replaces the current one.
 */
export type StartMode = "auto" | "cold" | { session: string };

/** How the disk overlay is kept: in IndexedDB, or in memory only (a second tab, private mode, quota). */
export type Persistence = "persistent" | "ephemeral";

export interface BootOptions {
  /** Absolute URL of images/manifest.json; artifact files are fetched relative to it. */
  manifestUrl: string;
  kernel: KernelFlavour;
  /** UML's mem=, e.g. "64M". */
  umlMemory?: string;
  /** Lab/profile the disk belongs to; overlays and sessions are kept per lab. Default "default". */
  lab?: string;
  /** Default "auto". */
  mode?: StartMode;
  /** Default "persistent". "ephemeral" never writes to IndexedDB (read-only view of the stored disk). */
  persistence?: Persistence;
  /**
   * When the stored disk belongs to another image release: boot that release instead (only when its
   * artifacts are still cached), rather than failing with "stale-disk".
   */
  useStoredRelease?: boolean;
  /** The guest network's transports; default fetch and loopback only. */
  network?: NetworkOptions;
}

/** How the machine actually started. */
export type StartKind = "snapshot" | "resume" | "cold";

/** Progress callbacks, passed through comlink.proxy(). */
export interface BootObserver {
  stage(event: StageEvent): void;
  download(progress: DownloadProgress): void;
  /** How this boot starts and why, e.g. a cold boot because the disk is newer than any saved session. */
  start?(kind: StartKind, reason: string): void;
  /** Disk persistence changes: commits, errors, falling back to memory. */
  disk?(status: DiskStatus): void;
  /** UML's own state changed: paused by mconsole `stop`, running again, halted, crashed, restarting. */
  uml?(state: UmlState): void;
}

export type BootErrorKind = "manifest-missing" | "manifest-invalid" | "artifact-missing" | "artifact-corrupt" | "emulator" | "stale-disk";

export interface BootError {
  kind: BootErrorKind;
  message: string;
  /** The artifact's file name, for artifact errors. */
  file?: string;
  /** For "stale-disk": the release the stored disk was made with. */
  stale?: StaleDisk;
}

export interface StaleDisk {
  /** sha256 of the backing image the stored COW refers to. */
  backingSha256: string;
  /** When that release was built (its manifest's builtAt). */
  builtAt: string;
  /** True when every artifact of that release is still in the browser's cache, so it can still boot. */
  releaseCached: boolean;
  /** Bytes the stored disk holds. */
  bytes: number;
}

export type BootResult =
  | {
      ok: true;
      manifest: ImageManifest;
      start: StartKind;
      screens?: Partial<Record<ConsoleId, string>>;
      /** The worker had this machine restored before the call, from the address's PrefetchHint. */
      preparedEarly?: boolean;
    }
  | { ok: false; error: BootError };

export interface MachineStatus {
  stage: BootStage;
  kernel: KernelFlavour | undefined;
  umid: string | undefined;
  /** Milliseconds from boot() to the start of each stage reached so far. */
  stageTimes: Partial<Record<BootStage, number>>;
}

/** The state disk's overlay status (see OverlayStatus), or mode "none" when no machine runs. */
export type DiskStatus = Omit<OverlayStatus, "mode"> & { mode: OverlayStatus["mode"] | "none" };

export interface SessionInfo {
  id: string;
  lab: string;
  /** Milliseconds since epoch. */
  savedAt: number;
  /** "manual" from Save session, "auto" from the background autosave. */
  kind: "manual" | "auto";
  kernel: KernelFlavour;
  /** Compressed bytes this session occupies in IndexedDB. */
  bytes: number;
  /** True when this session was taken with the disk as it is now, so "auto" would resume it. */
  current: boolean;
}

export interface SaveSessionOptions {
  kind: "manual" | "auto";
  /** Terminal contents to show again on resume, serialized by the page. */
  screens?: Partial<Record<ConsoleId, string>>;
}

export type ImportResult = { ok: true; bytes: number } | { ok: false; message: string };

export type MergeResult =
  | {
      ok: true;
      /** The lab's private backing image in the host's /images, which the fresh COW now names. */
      backingFile: string;
      /** Merges this lab has had, this one included. */
      merges: number;
      /** Bytes the COW (state disk) held before and after. */
      bytesBefore: number;
      bytesAfter: number;
      /** Bytes of the lab's own copy of the rootfs disk: every merge so far. */
      rootBytes: number;
      ms: number;
      /** The host agent's reply. */
      reply: string;
    }
  | { ok: false; message: string };

/** What UML is doing, as opposed to the machine (v86 and the host) that runs it. */
export type UmlState = UmlStatus;

/** A UML instance beside the main UML, on the same virtual switch (UmlState.instances). */
export type UmlInstance = InstanceStatus;

/** A reply of the real uml_mconsole, run on the host against UML's umid (the reply text verbatim). */
export type MconsoleResult = McResult;

/** A file or folder in the lab's shared directory (the host's /lab, UML's hostfs root). */
export type SharedEntry = ShareEntry;

/** An uploaded UML kernel, checked before it may boot (see UmlControl.uploadKernel). */
export type KernelCheck = UploadCheck;

export type CmdlineCheck = CmdCheck;

export interface RestartOptions {
  /** "lean", "debian" or "upload:<name>"; default the kernel UML ran last. */
  kernel?: string;
  /** The user's part of UML's command line; default the last one. Validated like the page's editor. */
  cmdline?: string;
}

/**
 * The extra UML consoles (UML's classic `xterm` channel: conN=xterm, sslN=xterm) on one MessagePort.
 * Worker → page: open, output, close. Page → worker: input, resize.
 */
export type ConsoleMuxMessage =
  | { type: "open"; channel: number; title: string }
  | { type: "output"; channel: number; data: Uint8Array }
  | { type: "close"; channel: number }
  | { type: "input"; channel: number; data: Uint8Array }
  | { type: "resize"; channel: number; cols: number; rows: number };

/** Messages on a console's MessagePort; `output` flows worker → page, the others page → worker. */
export interface ConsolePortEvents {
  output: Uint8Array;
  input: Uint8Array;
  resize: readonly [cols: number, rows: number];
}

/**
 * One TCP connection's bytes on a MessagePort, both ways: a port forward into UML (`forwardPort`) or a
 * guest connection to a service the page provides (`serveLoopback`). `end` is a half-close (FIN);
 * `error` tears the connection down (RST).
 */
export interface StreamPortEvents {
  data: Uint8Array;
  end: null;
  error: string;
}

export type StreamPortMessage = { [K in keyof StreamPortEvents]: { type: K; data: StreamPortEvents[K] } }[keyof StreamPortEvents];

/** On a `serveLoopback` listener port: a guest connected; its bytes travel on the transferred port. */
export interface LoopbackConnection {
  type: "connection";
  /** The service's port the guest connected to. */
  port: number;
}

export type ConsolePortMessage = { [K in keyof ConsolePortEvents]: { type: K; data: ConsolePortEvents[K] } }[keyof ConsolePortEvents];

/**
 * The boot the page expects to ask for, from its address. The page names the emulator worker
 * `umlab-emulator <this as JSON>` (or just `umlab-emulator`), so the worker can decide from the lab's
 * records how that boot would start and begin downloading what it needs (a snapshot, or what a resume
 * needs) before the page has built its UI, and restores that machine, paused. boot() takes the machine over
 * when it is the one the boot would make (same images, kernel, lab, stored disk and start), and the
 * downloads otherwise. Nothing else changes.
 */
export type PrefetchHint = Pick<BootOptions, "manifestUrl" | "kernel" | "lab" | "mode">;

export interface EmulatorApi {
  /** Takes one MessagePort per console (transferred); console bytes flow on them, not through RPC. */
  attachConsoles(ports: Record<ConsoleId, MessagePort>): void;
  boot(options: BootOptions, observer: BootObserver): Promise<BootResult>;
  stop(): Promise<void>;
  status(): MachineStatus;
  disk(): DiskStatus;
  /** Writes every pending block to IndexedDB now; resolves when the transaction has committed. */
  flushDisk(): Promise<DiskStatus>;
  /** Saves RAM and disk at one instant, keeping the newest sessions of the lab. Needs a running machine. */
  saveSession(options: SaveSessionOptions): Promise<SessionInfo>;
  listSessions(lab: string): Promise<SessionInfo[]>;
  deleteSession(id: string): Promise<void>;
  /** Stops the machine and discards the lab's stored disk and sessions; the next boot is pristine. */
  resetDisk(lab: string): Promise<void>;
  /** The lab's disk as a gzip-compressed UML COW file (usable with a native UML; see docs/persistence.md). */
  exportDisk(lab: string): Promise<{ blob: Blob; fileName: string }>;
  /**
   * Folds the COW into the lab's private backing image with the real uml_moo on the host: UML shuts down,
   * `uml_moo -d` merges, and UML boots again from the private image with an empty COW. Needs UML at its
   * prompt; saved sessions from before no longer resume.
   */
  mergeDisk(lab: string): Promise<MergeResult>;
  /** Replaces the lab's disk with an exported COW file (.cow or .cow.gz); stops the machine first. */
  importDisk(lab: string, file: Blob): Promise<ImportResult>;
  /** The network's transport, leases and counters; undefined when no machine runs. */
  network(): NetworkStatus | undefined;
  /**
   * The TCP ports UML listens on (read from UML's /proc/net/tcp); empty when UML is not up. Rejects when UML
   * does not answer within a few seconds (busy, or stopped by mconsole).
   */
  listeningPorts(): Promise<number[]>;
  /** One HTTP request to a server in UML, e.g. busybox httpd on port 80: what the preview URL shows. */
  guestHttp(port: number, request: GuestRequest): Promise<GuestResponse>;
  /**
   * A port forward: a TCP connection to `port` on UML's eth0, its bytes on the returned MessagePort
   * (StreamPortMessage). Rejects when UML has no address or nothing listens there.
   */
  forwardPort(port: number): Promise<MessagePort>;
  /**
   * A loopback service the page provides: guest connections to 10.0.2.2:`port` (which otherwise reach the
   * user's machine) arrive on `listener` as LoopbackConnection messages, each with a MessagePort carrying
   * that connection's bytes. Lasts until the machine stops; a later call for the same port replaces it.
   */
  serveLoopback(port: number, listener: MessagePort): void;

  /** The port for the extra consoles UML opens (ConsoleMuxMessage); each one is a tab in the page. */
  attachConsoleMux(port: MessagePort): void;
  /** UML's state; undefined when no machine runs. */
  uml(): UmlState | undefined;
  /**
   * Runs `uml_mconsole <umid> <command>` on the host, e.g. "version", "sysrq s", "config ubd1=/lab/disks/a.img".
   * `stop` pauses UML (its consoles stop answering) until `go`. With `instance`, against that instance.
   */
  mconsole(command: string, instance?: number): Promise<MconsoleResult>;
  /**
   * Starts a UML instance beside the main one (2..4, the lowest free unless `n`), on the same switch; its
   * console opens as a tab and UmlState.instances follows it. Resolves with its number.
   */
  startInstance(options?: { n?: number; mem?: string }): Promise<number>;
  /** Halts instance n (its COW file stays for its next start). */
  stopInstance(n: number): Promise<void>;
  /** Opens another UML console (conN=xterm through mconsole) with a login shell on it; resolves with N. */
  openConsole(): Promise<number>;
  /** Starts UML again after a halt or a crash, or restarts it with another kernel or command line. */
  restartUml(options?: RestartOptions): Promise<void>;
  /** Checks the user's part of UML's command line; `defaults` is what "reset" restores. */
  checkCmdline(text: string): { check: CmdlineCheck; defaults: string };
  /** `--showconfig` of the kernel UML runs (or of `kernel`), run on the host. */
  kernelConfig(kernel?: string): Promise<string>;
  /** Checks an uploaded UML kernel (an ELF check here, then `--version`/`--showconfig` on the host). */
  uploadKernel(name: string, bytes: Uint8Array): Promise<KernelCheck>;
  /** The shared directory's entries, recursively. */
  listShared(): Promise<SharedEntry[]>;
  /** Puts a file into the share (path like "/share/a.txt"; folders are created). */
  putShared(path: string, bytes: Uint8Array): Promise<void>;
  readShared(path: string): Promise<Uint8Array>;
  deleteShared(path: string): Promise<void>;
}
