import { describe, expect, it } from "vitest";
import { HeldReports, identityDifferences, LateNetwork, type BootReportListener, type StartIdentity } from "./early-start.ts";
import type { DownloadProgress, NetworkAdapter, StageEvent } from "./machine.ts";
import type { OverlayStatus } from "../disk/persistent-overlay.ts";

class Recorder implements BootReportListener {
  readonly seen: string[] = [];
  stage(event: StageEvent): void {
    this.seen.push(`stage ${event.stage}`);
  }
  download(progress: DownloadProgress): void {
    this.seen.push(`download ${progress.file} ${progress.loaded}`);
  }
  disk(status: OverlayStatus): void {
    this.seen.push(`disk ${status.mode}`);
  }
}

const progress = (file: string, loaded: number): DownloadProgress => ({ artifact: "snapshot", file, loaded, total: 100 });

describe("HeldReports", () => {
  it("holds stages in order and only each file's latest download until someone listens", () => {
    const reports = new HeldReports();
    reports.stage({ stage: "download", at: 0 });
    reports.download(progress("a", 10));
    reports.download(progress("b", 5));
    reports.download(progress("a", 100));
    reports.disk({ mode: "ephemeral", bytes: 0, pending: 0, generation: 0 });
    const listener = new Recorder();
    reports.listen(listener);
    expect(listener.seen).toEqual(["stage download", "download a 100", "download b 5"]);
    reports.stage({ stage: "restore", at: 3 });
    reports.download(progress("b", 50));
    reports.disk({ mode: "persistent", bytes: 0, pending: 0, generation: 1 });
    expect(listener.seen.slice(3)).toEqual(["stage restore", "download b 50", "disk persistent"]);
  });
});

class Wire implements NetworkAdapter {
  readonly received: number[] = [];
  deliver: ((frame: Uint8Array) => void) | undefined;
  receive(frame: Uint8Array): void {
    this.received.push(frame[0] ?? -1);
  }
  attach(deliver: (frame: Uint8Array) => void): void {
    this.deliver = deliver;
  }
}

describe("LateNetwork", () => {
  it("passes frames both ways once connected, to a NIC attached before", () => {
    const nic = new LateNetwork();
    const toGuest: number[] = [];
    nic.attach((frame) => toGuest.push(frame[0] ?? -1));
    nic.receive(new Uint8Array([1]));
    const wire = new Wire();
    nic.connect(wire);
    nic.receive(new Uint8Array([2]));
    wire.deliver?.(new Uint8Array([3]));
    expect(wire.received).toEqual([2]);
    expect(toGuest).toEqual([3]);
    expect(() => nic.connect(new Wire())).toThrow(/already connected/);
  });
});

describe("identityDifferences", () => {
  const prepared: StartIdentity = { manifestUrl: "http://x/images/manifest.json", inputsHash: "h", lab: "default", kernel: "lean", start: "snapshot abc", disk: "none" };

  it("finds nothing for the same boot, and each field that differs", () => {
    expect(identityDifferences(prepared, { ...prepared })).toEqual([]);
    expect(identityDifferences(prepared, { ...prepared, kernel: "debian", disk: "o1@1" })).toEqual(["kernel", "disk"]);
  });
});
