// The window.umlab object the end-to-end tests read; part of the page's contract with e2e/.
// A declaration file, so e2e/tsconfig.json can include it without pulling in any page code.
import type {
  BootError,
  BootStage,
  CmdlineCheck,
  ConsoleId,
  DiskStatus,
  KernelCheck,
  MconsoleResult,
  NetworkStatus,
  Persistence,
  RestartOptions,
  SessionInfo,
  SharedEntry,
  StartKind,
  UmlInstance,
  UmlState,
} from "../workers/api.ts";

/** Bytes through page.evaluate: a base64 string, or an array of byte values (fine for small files). */
export type HookBytes = string | number[];

export interface UmlabTestHook {
  /** Latest stage reported. */
  stage: BootStage;
  /** ms since boot start, as reported. */
  stageTimes: Partial<Record<BootStage, number>>;
  bootError: BootError | undefined;
  /** Whole xterm buffer (scrollback + screen), lines joined by "\n", trailing spaces trimmed. */
  readConsole(id: ConsoleId): string;
  /** Sends text as if typed (same path as onData). */
  typeInto(id: ConsoleId, text: string): void;
  /** Sum of the final `loaded` per artifact. */
  downloadedBytes: number;
  /** The console's terminal size, as last fitted (what the guest's `stty size` should report). */
  consoleSize(id: ConsoleId): { cols: number; rows: number };
  /** The lab this page opened (?lab=, default "default"). */
  lab: string;
  /** How the current boot started, once the worker said; undefined while unknown or before any boot. */
  startKind: StartKind | undefined;
  /** The last successful boot took over a machine the worker had restored before the page asked (PrefetchHint). */
  preparedEarly: boolean;
  /** How this tab keeps the disk; undefined until the lab's lock was settled (a second tab asks first). */
  persistence: Persistence | undefined;
  /** The worker's disk status now ({ mode: "none" } without a worker). */
  diskStatus(): Promise<DiskStatus>;
  /** Commits pending disk blocks to IndexedDB and resolves with the status after the commit. */
  flushDisk(): Promise<DiskStatus>;
  /** Saves a session the way the Save session button does (screens included); default kind "manual". */
  saveSession(kind?: "manual" | "auto"): Promise<SessionInfo>;
  /** This lab's saved sessions, as the worker lists them. */
  listSessions(): Promise<SessionInfo[]>;
  /** The network's transport, leases and counters; undefined while no machine runs. */
  network(): Promise<NetworkStatus | undefined>;
  /** Port forward: sends `request` to `port` in UML, half-closes, and resolves with the whole answer. */
  forwardPort(port: number, request: string): Promise<string>;
  /** A page-provided loopback service at 10.0.2.2:`port` that answers every guest connection with `reply`. */
  serveLoopback(port: number, reply: string): Promise<void>;

  // UML toolkit

  /**
   * Runs an mconsole command through the UML panel (it shows in the transcript), against the main UML or
   * instance `instance`; rejects only if the worker could not be asked.
   */
  mconsole(command: string, instance?: number): Promise<MconsoleResult>;
  /** The worker's UML state now; undefined while no machine runs. */
  umlState(): Promise<UmlState | undefined>;
  /** The UML instances beside the main UML (uml2..uml4, halted and crashed ones included); [] while no machine runs. */
  instances(): Promise<UmlInstance[]>;
  /** What the Switch panel's "Start instance" does; resolves with the instance's number. */
  startInstance(options?: { n?: number; mem?: string }): Promise<number>;
  /** What an instance's Stop does. */
  stopInstance(n: number): Promise<void>;
  /** What "+ Console" does: resolves with the new console's channel N; its tab opens when UML opens it. */
  openConsole(): Promise<number>;
  /** The extra consoles' tabs, in tab order; `closed` once UML closed the console (the tab stays until closed). */
  consoleTabs(): Array<{ channel: number; title: string; closed: boolean }>;
  /** An extra console's whole buffer, like readConsole; throws when no tab has that channel. */
  readMuxConsole(channel: number): string;
  /** Types into an extra console, like typeInto. */
  typeIntoMux(channel: number, text: string): void;
  /** An extra console's terminal size, as last fitted and sent. */
  muxConsoleSize(channel: number): { cols: number; rows: number };
  /** The key of the console the keyboard talks to: "uml", "host" or "console-<N>". */
  activeConsole(): string | undefined;
  /** Disks the UML panel hot-plugged and that are still plugged in. */
  hotDisks(): Array<{ slot: number; name: string; hostPath: string }>;
  /** The shared directory's entries (the host's /lab), recursively. */
  listShared(): Promise<SharedEntry[]>;
  /** Puts a file into the share, e.g. "/share/a.txt"; the Files panel refreshes if it is open. */
  putShared(path: string, bytes: HookBytes): Promise<void>;
  /** A shared file's bytes, base64-encoded. */
  readShared(path: string): Promise<string>;
  deleteShared(path: string): Promise<void>;
  /** Uploads a kernel through the Kernel panel (its result shows there, and it becomes selectable). */
  uploadKernel(name: string, bytes: HookBytes): Promise<KernelCheck>;
  kernelConfig(kernel?: string): Promise<string>;
  checkCmdline(text: string): Promise<{ check: CmdlineCheck; defaults: string }>;
  /** restartUml() without the panel's confirmation; a built-in kernel also becomes the page's ?kernel=. */
  restartUml(options?: RestartOptions): Promise<void>;
}

declare global {
  interface Window {
    umlab?: UmlabTestHook;
  }
}
