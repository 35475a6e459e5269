// The boot progress model: a pure reducer over the worker's stage and download reports.
import type { BootStage, DownloadProgress, StageEvent, StartKind } from "../workers/api.ts";

/** The stages shown in the list, in boot order. */
export const VISIBLE_STAGES = ["download", "bios", "host-kernel", "uml-kernel", "ready"] as const satisfies readonly BootStage[];
export type VisibleStage = (typeof VISIBLE_STAGES)[number];

export const STAGE_LABELS: Record<VisibleStage, string> = {
  download: "Downloading artifacts",
  bios: "BIOS",
  "host-kernel": "Host kernel",
  "uml-kernel": "UML kernel",
  ready: "Ready",
};

/** "skipped": a snapshot restore or session resume never runs that stage. */
export type RowState = "pending" | "active" | "done" | "skipped";

export interface StageRow {
  stage: VisibleStage;
  state: RowState;
  /** Worker time (ms since boot start) the stage began; undefined for stages that were skipped. */
  startedAt?: number;
  /** Worker time the stage ended: the next stage began, or the boot halted or failed. */
  endedAt?: number;
}

export interface DownloadRow {
  file: string;
  loaded: number;
  total: number;
}

export interface BootState {
  /** Latest stage reported, terminal ones included. */
  stage: BootStage;
  stageTimes: Partial<Record<BootStage, number>>;
  rows: readonly StageRow[];
  /** One row per artifact file, in the order their first progress arrived. */
  downloads: readonly DownloadRow[];
  /** Set by a "halted" report: its detail. */
  halted?: string;
  /** Set by an "error" report: its detail. */
  failed?: string;
  /** How the machine starts, once the worker has said. */
  start?: { kind: StartKind; reason: string };
}

export function initialBootState(): BootState {
  return { stage: "idle", stageTimes: {}, rows: VISIBLE_STAGES.map((stage) => ({ stage, state: "pending" })), downloads: [] };
}

export function isVisibleStage(stage: BootStage): stage is VisibleStage {
  return (VISIBLE_STAGES as readonly BootStage[]).includes(stage);
}

function visibleIndex(stage: BootStage): number {
  return (VISIBLE_STAGES as readonly BootStage[]).indexOf(stage);
}

/** Stops the clock of whichever stage is running, for halts and failures. */
function freezeActive(rows: readonly StageRow[], at: number): StageRow[] {
  return rows.map((row) => (row.state === "active" && row.endedAt === undefined ? { ...row, endedAt: at } : row));
}

export function applyStage(state: BootState, event: StageEvent): BootState {
  const next: BootState = { ...state, stage: event.stage, stageTimes: { ...state.stageTimes, [event.stage]: event.at } };
  if (event.stage === "halted") return { ...next, halted: event.detail ?? "stopped", rows: freezeActive(state.rows, event.at) };
  if (event.stage === "error") return { ...next, failed: event.detail ?? "boot failed", rows: freezeActive(state.rows, event.at) };
  const index = visibleIndex(event.stage);
  const current = state.rows.findIndex((row) => row.state === "active");
  // Only move forward: a late report of an earlier stage must not reopen it.
  const passed = state.rows.slice(index).some((row) => row.state === "done" || row.state === "skipped");
  if (index < 0 || index < current || passed) return next;
  const rows = state.rows.map((row, i): StageRow => {
    if (i < index) {
      if (row.state === "done" || row.state === "skipped") return row;
      // A running stage ends where this one starts.
      if (row.startedAt !== undefined) return { ...row, state: "done", endedAt: event.at };
      // Never reported: a restore skips it for real; a cold boot ran it without a marker the worker saw.
      return { ...row, state: restores(state) ? "skipped" : "done" };
    }
    if (i > index) return row;
    // Ready is the finish line, not a phase with a duration.
    return event.stage === "ready" ? { ...row, state: "done", startedAt: event.at, endedAt: event.at } : { ...row, state: "active", startedAt: event.at };
  });
  return { ...next, rows };
}

/** True when the machine starts from saved state, not by booting. */
function restores(state: BootState): boolean {
  return state.start !== undefined && state.start.kind !== "cold";
}

/** The worker said how this boot starts; rows a restore passed over become skipped rather than done. */
export function applyStart(state: BootState, kind: StartKind, reason: string): BootState {
  // The boot result repeats the kind without a reason; keep the observer's words.
  const keep = state.start?.kind === kind && reason === "" ? state.start.reason : reason;
  const next: BootState = { ...state, start: { kind, reason: keep } };
  if (!restores(next)) return next;
  return { ...next, rows: next.rows.map((row) => (row.state === "done" && row.startedAt === undefined ? { ...row, state: "skipped" } : row)) };
}

/** A failure the worker did not report as a stage (a failed boot() call, a dead worker): stop the clocks. */
export function applyFailure(state: BootState, at: number, detail: string): BootState {
  if (state.failed !== undefined) return state;
  return { ...state, stage: "error", failed: detail, rows: freezeActive(state.rows, at) };
}

export function applyDownload(state: BootState, progress: DownloadProgress): BootState {
  const row: DownloadRow = { file: progress.file, loaded: progress.loaded, total: progress.total };
  const i = state.downloads.findIndex((d) => d.file === progress.file);
  const downloads = i < 0 ? [...state.downloads, row] : state.downloads.map((d, j) => (j === i ? row : d));
  return { ...state, downloads };
}

export function downloadTotals(state: BootState): { loaded: number; total: number } {
  return state.downloads.reduce((sum, d) => ({ loaded: sum.loaded + d.loaded, total: sum.total + d.total }), { loaded: 0, total: 0 });
}

/** How long a row has run: finished rows their duration, the running one up to `now` (worker time). */
export function rowElapsed(row: StageRow, now: number): number | undefined {
  if (row.startedAt === undefined) return undefined;
  if (row.endedAt !== undefined) return row.endedAt - row.startedAt;
  return row.state === "active" ? Math.max(0, now - row.startedAt) : undefined;
}

/**
 * Whether the panel may open the list of downloads by itself: only for a cold boot's files, while they still
 * download. A restore's few files finish in a fraction of a second, and opening and closing the list would
 * move the terminal below (and ash would redraw its prompt at each size); its summary line shows progress.
 */
export function opensDownloadList(state: BootState): boolean {
  return state.start?.kind === "cold" && state.downloads.length > 0 && state.rows[0]?.state !== "done";
}

/** The boot is over, one way or another: clocks stop ticking. */
export function isSettled(state: BootState): boolean {
  return state.stage === "ready" || state.halted !== undefined || state.failed !== undefined;
}
