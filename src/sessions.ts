// Words for how the machine started and for the saved-sessions list.
import type { SessionInfo, StartKind } from "../workers/api.ts";
import { formatAgo, formatBytes, formatWhen } from "./format.ts";

/** The stage panel's line on how this boot started; `savedAt` is the resumed session's, when the page knows it. */
export function describeStart(kind: StartKind, reason: string, savedAt: number | undefined, now: number): string {
  if (kind === "snapshot") return "Restored the pre-booted snapshot";
  if (kind === "resume") return savedAt === undefined ? reason || "Resumed a saved session" : `Resumed session saved ${formatWhen(savedAt, now)}`;
  return reason || "Cold boot";
}

/** Newest first, as the list shows them. */
export function sortSessions(sessions: readonly SessionInfo[]): SessionInfo[] {
  return [...sessions].sort((a, b) => b.savedAt - a.savedAt);
}

/** The session "auto" mode would resume: the newest one taken with the disk as it is now. */
export function currentSession(sessions: readonly SessionInfo[]): SessionInfo | undefined {
  return sortSessions(sessions).find((s) => s.current);
}

export interface SessionRow {
  when: string;
  ago: string;
  kind: string;
  size: string;
  /** Accessible name of the row's resume button. */
  resumeLabel: string;
}

export function sessionRow(session: SessionInfo, now: number): SessionRow {
  const when = formatWhen(session.savedAt, now);
  return {
    when,
    ago: formatAgo(Math.max(0, now - session.savedAt)),
    kind: session.kind === "manual" ? "manual" : "auto",
    size: formatBytes(session.bytes),
    resumeLabel: `Resume the ${session.kind} session saved ${when}`,
  };
}
