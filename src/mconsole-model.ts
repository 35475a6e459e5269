// The mconsole panel's logic: command history, the quick commands and their arguments, hot-plugged ubd slots.
import type { UmlPhase } from "./uml-status.ts";

/** Commands kept for Up/Down; a lab session never needs more. */
const HISTORY_LIMIT = 100;

/** Shell-like history: Up walks back from the draft being typed, Down walks forward and returns to the draft. */
export class CommandHistory {
  private readonly entries: string[] = [];
  /** entries.length means "at the draft". */
  private cursor = 0;
  private draft = "";

  get length(): number {
    return this.entries.length;
  }

  /** Records a run command (not repeating the newest) and goes back to an empty draft. */
  push(command: string): void {
    const text = command.trim();
    if (text !== "" && this.entries.at(-1) !== text) this.entries.push(text);
    if (this.entries.length > HISTORY_LIMIT) this.entries.splice(0, this.entries.length - HISTORY_LIMIT);
    this.cursor = this.entries.length;
    this.draft = "";
  }

  /** The previous command, remembering `current` as the draft when leaving it; undefined at the oldest. */
  up(current: string): string | undefined {
    if (this.cursor === 0) return undefined;
    if (this.cursor === this.entries.length) this.draft = current;
    this.cursor--;
    return this.entries[this.cursor];
  }

  /** The next command, or the draft after the newest; undefined when already at the draft. */
  down(): string | undefined {
    if (this.cursor >= this.entries.length) return undefined;
    this.cursor++;
    return this.cursor === this.entries.length ? this.draft : this.entries[this.cursor];
  }
}

/** The SysRq letters worth offering in UML, with what each does. */
export const SYSRQ_LETTERS: readonly { letter: string; meaning: string }[] = [
  { letter: "h", meaning: "help: list the letters" },
  { letter: "m", meaning: "show memory" },
  { letter: "t", meaning: "show tasks" },
  { letter: "w", meaning: "show blocked tasks" },
  { letter: "l", meaning: "backtrace of the active CPU" },
  { letter: "p", meaning: "show registers" },
  { letter: "q", meaning: "show timers" },
  { letter: "s", meaning: "sync all filesystems" },
  { letter: "u", meaning: "remount all read-only" },
  { letter: "e", meaning: "SIGTERM to all but init" },
  { letter: "i", meaning: "SIGKILL to all but init" },
  { letter: "f", meaning: "run the OOM killer" },
  { letter: "n", meaning: "make RT tasks nice" },
  { letter: "b", meaning: "reboot at once" },
  { letter: "o", meaning: "power off" },
  { letter: "c", meaning: "crash (panic)" },
];

export type Built = { ok: true; command: string } | { ok: false; message: string };

export function sysrqCommand(letter: string): Built {
  return /^[0-9a-z]$/.test(letter) ? { ok: true, command: `sysrq ${letter}` } : { ok: false, message: `"${letter}" is not a SysRq letter.` };
}

/** `proc <file>`: a path under /proc, given with or without the /proc/ prefix. */
export function procCommand(file: string): Built {
  const path = file.trim().replace(/^\/proc(\/|$)/, "").replace(/^\/+/, "");
  if (path === "") return { ok: false, message: "Name a file under /proc, e.g. meminfo or 1/status." };
  if (/\s/.test(path)) return { ok: false, message: "A /proc path has no spaces." };
  if (path.split("/").includes("..")) return { ok: false, message: "Stay inside /proc: no “..”." };
  return { ok: true, command: `proc ${path}` };
}

/** `stack <pid>`: the kernel stack of one UML process. */
export function stackCommand(pid: string): Built {
  const text = pid.trim();
  return /^\d{1,7}$/.test(text) ? { ok: true, command: `stack ${text}` } : { ok: false, message: "A pid is a number, e.g. 1." };
}

/** The stop/go toggle sends the command that changes the phase; `go` only makes sense while paused. */
export function toggleCommand(phase: UmlPhase | undefined): "stop" | "go" {
  return phase === "paused" ? "go" : "stop";
}

/** ubd0 is the root disk; these are the slots the panel plugs disks into. */
export const HOT_SLOTS = [1, 2, 3, 4, 5, 6, 7] as const;

export interface HotDisk {
  slot: number;
  /** The file's name in the share's /disks. */
  name: string;
  /** What UML opens: the host's path. */
  hostPath: string;
}

export function freeSlot(disks: readonly HotDisk[]): number | undefined {
  return HOT_SLOTS.find((slot) => !disks.some((d) => d.slot === slot));
}

export function configCommand(slot: number, hostPath: string): string {
  return `config ubd${slot}=${hostPath}`;
}

export function removeCommand(slot: number): string {
  return `remove ubd${slot}`;
}
