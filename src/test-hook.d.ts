// The window.umlab object the end-to-end tests read; part of the page's contract with e2e/.
// A declaration file, so e2e/tsconfig.json can include it without pulling in any page code.
import type { BootError, BootStage, ConsoleId, DiskStatus, NetworkStatus, Persistence, SessionInfo, StartKind } from "../workers/api.ts";

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
}

declare global {
  interface Window {
    umlab?: UmlabTestHook;
  }
}
