import { describe, expect, it } from "vitest";
import type { DiskStatus } from "../workers/api.ts";
import { storageLine } from "./disk-status.ts";

const NOW = 1_700_000_000_000;
const MiB = 1024 * 1024;

function status(over: Partial<DiskStatus>): DiskStatus {
  return { mode: "persistent", bytes: 0, pending: 0, generation: 0, ...over };
}

describe("storageLine", () => {
  it("says where a persistent disk is, how big, when last saved, and the browser's quota", () => {
    const line = storageLine({
      status: status({ bytes: 1.2 * MiB, lastCommitAt: NOW - 2000, generation: 3 }),
      lab: "default",
      estimate: { usage: 35 * MiB, quota: 10 * 1024 * MiB },
      persisted: true,
      now: NOW,
    });
    expect(line).toEqual({
      mode: "persistent",
      text: "Disk saved in this browser · 1.20 MiB · last saved 2 s ago · storage 35.0 MiB of 10.0 GiB · persistent storage granted",
      tone: "good",
    });
  });

  it("warns when the browser did not grant persistent storage, and shows pending writes", () => {
    const line = storageLine({ status: status({ pending: 3, lastCommitAt: NOW }), lab: "net", persisted: false, now: NOW });
    expect(line.text).toBe("Lab net · Disk saved in this browser · 0 B · saving 3 blocks… · the browser may evict this data under storage pressure");
    expect(line.tone).toBe("warn");
  });

  it("says a fresh disk has no changes and leaves out what it does not know", () => {
    expect(storageLine({ status: status({}), lab: "default", now: NOW }).text).toBe("Disk saved in this browser · 0 B · no changes yet");
  });

  it("says clearly when the disk is only in memory", () => {
    const line = storageLine({ status: status({ mode: "memory", error: "QuotaExceededError" }), lab: "default", now: NOW });
    expect(line.mode).toBe("memory");
    expect(line.tone).toBe("bad");
    expect(line.text).toBe("Disk NOT saved: QuotaExceededError — your work is kept in memory until you close the tab");
  });

  it("names the read-only second tab", () => {
    const line = storageLine({ status: status({ mode: "ephemeral" }), lab: "default", now: NOW });
    expect(line).toMatchObject({ mode: "ephemeral", tone: "warn" });
    expect(line.text).toBe("Read-only: this lab is open in another tab; changes are not saved");
  });

  it("has a quiet line before any machine", () => {
    expect(storageLine({ status: undefined, lab: "default", now: NOW })).toEqual({ mode: "none", text: "Disk: no machine running", tone: "muted" });
  });
});
