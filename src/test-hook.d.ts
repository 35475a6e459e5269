// The window.umlab object the end-to-end tests read; part of the page's contract with e2e/.
// A declaration file, so e2e/tsconfig.json can include it without pulling in any page code.
import type { BootError, BootStage, ConsoleId } from "../workers/api.ts";

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
}

declare global {
  interface Window {
    umlab?: UmlabTestHook;
  }
}
