import { describe, expect, it } from "vitest";
import { applyDownload, applyFailure, applyStage, applyStart, downloadTotals, initialBootState, isSettled, opensDownloadList, rowElapsed, type BootState, type StageRow } from "./boot-state.ts";
import type { StageEvent } from "../workers/api.ts";

function run(events: StageEvent[], from: BootState = initialBootState()): BootState {
  return events.reduce(applyStage, from);
}

function row(state: BootState, i: number): StageRow {
  const r = state.rows[i];
  if (!r) throw new Error(`no row ${i}`);
  return r;
}

function states(state: BootState): string[] {
  return state.rows.map((r) => `${r.stage}:${r.state}`);
}

describe("applyStage", () => {
  it("starts with every stage pending", () => {
    expect(states(initialBootState())).toEqual(["download:pending", "bios:pending", "host-kernel:pending", "uml-kernel:pending", "ready:pending"]);
  });

  it("activates the reported stage and closes the previous one at its start", () => {
    const s = run([
      { stage: "download", at: 0 },
      { stage: "bios", at: 3000 },
    ]);
    expect(states(s)).toEqual(["download:done", "bios:active", "host-kernel:pending", "uml-kernel:pending", "ready:pending"]);
    expect(s.rows[0]).toMatchObject({ startedAt: 0, endedAt: 3000 });
    expect(s.stage).toBe("bios");
    expect(s.stageTimes).toEqual({ download: 0, bios: 3000 });
  });

  it("marks skipped stages done without inventing times", () => {
    const s = run([
      { stage: "download", at: 0 },
      { stage: "bios", at: 1000 },
      { stage: "uml-kernel", at: 9000 },
    ]);
    expect(states(s)).toEqual(["download:done", "bios:done", "host-kernel:done", "uml-kernel:active", "ready:pending"]);
    expect(s.rows[1]).toMatchObject({ startedAt: 1000, endedAt: 9000 });
    expect(s.rows[2]?.startedAt).toBeUndefined();
    expect(rowElapsed(row(s, 2), 10_000)).toBeUndefined();
  });

  it("finishes every stage on ready, even if it is the first report", () => {
    const s = run([{ stage: "ready", at: 20_000 }]);
    expect(states(s).every((x) => x.endsWith(":done"))).toBe(true);
    expect(isSettled(s)).toBe(true);
  });

  it("ignores a late report of an earlier stage", () => {
    const s = run([
      { stage: "uml-kernel", at: 9000 },
      { stage: "host-kernel", at: 5000 },
    ]);
    expect(states(s)).toEqual(["download:done", "bios:done", "host-kernel:done", "uml-kernel:active", "ready:pending"]);
  });

  it("freezes the running stage and records the detail on halt", () => {
    const s = run([
      { stage: "download", at: 0 },
      { stage: "uml-kernel", at: 8000 },
      { stage: "halted", at: 11_000, detail: "UML exited with status 1" },
    ]);
    expect(s.halted).toBe("UML exited with status 1");
    expect(s.stage).toBe("halted");
    expect(rowElapsed(row(s, 3), 99_000)).toBe(3000);
    expect(isSettled(s)).toBe(true);
  });

  it("records failures", () => {
    const s = run([{ stage: "download", at: 0 }, { stage: "error", at: 400, detail: "sha256 mismatch" }]);
    expect(s.failed).toBe("sha256 mismatch");
    expect(s.stageTimes.error).toBe(400);
    expect(isSettled(s)).toBe(true);
  });
});

describe("applyFailure", () => {
  it("stops the clock without pretending the worker reported it", () => {
    const s = applyFailure(run([{ stage: "download", at: 0 }]), 700, "HTTP 404");
    expect(s).toMatchObject({ stage: "error", failed: "HTTP 404" });
    expect(s.stageTimes).toEqual({ download: 0 });
    expect(rowElapsed(row(s, 0), 5000)).toBe(700);
  });
  it("keeps the first failure", () => {
    const first = applyFailure(initialBootState(), 1, "first");
    expect(applyFailure(first, 2, "second").failed).toBe("first");
  });
});

describe("rowElapsed", () => {
  it("counts the active stage up to now and leaves pending ones empty", () => {
    const s = run([{ stage: "bios", at: 2000 }]);
    expect(rowElapsed(row(s, 1), 3500)).toBe(1500);
    expect(rowElapsed(row(s, 4), 3500)).toBeUndefined();
    expect(isSettled(s)).toBe(false);
  });
});

describe("applyDownload", () => {
  it("keeps one row per file, latest progress winning, and sums them", () => {
    let s = initialBootState();
    s = applyDownload(s, { artifact: "bios", file: "seabios.bin", loaded: 100, total: 1000 });
    s = applyDownload(s, { artifact: "rootfs", file: "rootfs.img.zst", loaded: 50, total: 5000 });
    s = applyDownload(s, { artifact: "bios", file: "seabios.bin", loaded: 1000, total: 1000 });
    expect(s.downloads.map((d) => d.file)).toEqual(["seabios.bin", "rootfs.img.zst"]);
    expect(downloadTotals(s)).toEqual({ loaded: 1050, total: 6000 });
  });
});

describe("opensDownloadList", () => {
  const downloading = (kind: "cold" | "snapshot" | "resume" | undefined): BootState => {
    let s = kind ? applyStart(initialBootState(), kind, "") : initialBootState();
    s = run([{ stage: "download", at: 0 }], s);
    return applyDownload(s, { artifact: "bios", file: "bios.bin", loaded: 10, total: 100 });
  };

  it("opens a cold boot's downloads while they run", () => {
    expect(opensDownloadList(downloading("cold"))).toBe(true);
    expect(opensDownloadList(run([{ stage: "bios", at: 500 }], downloading("cold")))).toBe(false);
  });

  it("never a restore's or a resume's, nor before the worker said how it starts", () => {
    expect(opensDownloadList(downloading("snapshot"))).toBe(false);
    expect(opensDownloadList(downloading("resume"))).toBe(false);
    expect(opensDownloadList(downloading(undefined))).toBe(false);
  });
});

describe("applyStart", () => {
  it("marks the stages a snapshot restore passes over as skipped", () => {
    let s = applyStart(initialBootState(), "snapshot", "");
    s = run([{ stage: "download", at: 0 }, { stage: "ready", at: 900 }], s);
    expect(states(s)).toEqual(["download:done", "bios:skipped", "host-kernel:skipped", "uml-kernel:skipped", "ready:done"]);
    expect(s.start).toEqual({ kind: "snapshot", reason: "" });
    expect(isSettled(s)).toBe(true);
  });

  it("turns never-started rows into skipped ones when the kind arrives after ready", () => {
    const s = applyStart(run([{ stage: "download", at: 0 }, { stage: "ready", at: 900 }]), "resume", "session of 14:02");
    expect(states(s)).toEqual(["download:done", "bios:skipped", "host-kernel:skipped", "uml-kernel:skipped", "ready:done"]);
  });

  it("keeps cold boots' unseen stages done", () => {
    let s = applyStart(initialBootState(), "cold", "Cold boot: the disk changed");
    s = run([{ stage: "download", at: 0 }, { stage: "bios", at: 100 }, { stage: "uml-kernel", at: 9000 }], s);
    expect(states(s)).toEqual(["download:done", "bios:done", "host-kernel:done", "uml-kernel:active", "ready:pending"]);
    expect(s.start?.reason).toBe("Cold boot: the disk changed");
  });

  it("keeps the observer's reason when the boot result repeats the kind", () => {
    const s = applyStart(applyStart(initialBootState(), "cold", "because"), "cold", "");
    expect(s.start).toEqual({ kind: "cold", reason: "because" });
  });

  it("does not reopen a skipped stage reported late", () => {
    let s = applyStart(initialBootState(), "snapshot", "");
    s = run([{ stage: "download", at: 0 }, { stage: "ready", at: 900 }, { stage: "bios", at: 950 }], s);
    expect(row(s, 1).state).toBe("skipped");
    expect(row(s, 4).state).toBe("done");
  });
});
