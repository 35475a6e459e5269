// The storage line under the boot panel: where this lab's disk lives and how much the browser holds.
import type { DiskStatus } from "../workers/api.ts";
import { formatAgo, formatBytes } from "./format.ts";

export interface StorageFacts {
  /** Latest report from the worker; undefined before the first one. */
  status: DiskStatus | undefined;
  lab: string;
  /** navigator.storage.estimate(), when the browser answered. */
  estimate?: { usage?: number; quota?: number };
  /** navigator.storage.persist()'s answer, once asked. */
  persisted?: boolean;
  /** Date.now(), for "last saved … ago". */
  now: number;
}

export type StorageTone = "good" | "warn" | "bad" | "muted";

export interface StorageLine {
  /** DiskStatus.mode, for the data-mode attribute. */
  mode: DiskStatus["mode"];
  text: string;
  tone: StorageTone;
}

export const NOT_SAVED_SUFFIX = "your work is kept in memory until you close the tab";
export const READ_ONLY_TEXT = "Read-only: this lab is open in another tab; changes are not saved";

export function storageLine(facts: StorageFacts): StorageLine {
  const { status } = facts;
  const mode = status?.mode ?? "none";
  const lab = facts.lab === "default" ? [] : [`Lab ${facts.lab}`];
  const quota = storageQuota(facts.estimate);
  if (!status || mode === "none") return { mode, text: [...lab, "Disk: no machine running", ...quota].join(" · "), tone: "muted" };
  if (mode === "ephemeral") return { mode, text: [...lab, READ_ONLY_TEXT].join(" · "), tone: "warn" };
  if (mode === "memory") {
    return { mode, text: [...lab, `Disk NOT saved: ${status.error ?? "the browser refused to store it"} — ${NOT_SAVED_SUFFIX}`].join(" · "), tone: "bad" };
  }
  const parts = [...lab, "Disk saved in this browser", formatBytes(status.bytes), lastSaved(status, facts.now), ...quota];
  if (facts.persisted !== undefined) parts.push(facts.persisted ? "persistent storage granted" : "the browser may evict this data under storage pressure");
  return { mode, text: parts.join(" · "), tone: facts.persisted === false ? "warn" : "good" };
}

function lastSaved(status: DiskStatus, now: number): string {
  if (status.pending > 0) return `saving ${status.pending} block${status.pending === 1 ? "" : "s"}…`;
  if (status.lastCommitAt === undefined) return "no changes yet";
  return `last saved ${formatAgo(Math.max(0, now - status.lastCommitAt))}`;
}

function storageQuota(estimate: StorageFacts["estimate"]): string[] {
  if (estimate?.usage === undefined || estimate.quota === undefined) return [];
  return [`storage ${formatBytes(estimate.usage)} of ${formatBytes(estimate.quota)}`];
}
