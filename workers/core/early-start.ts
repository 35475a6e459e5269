// Pieces for a machine the worker prepares before the page asks for its boot (see EmulatorWorker.prepareEarly):
// its reports wait for a listener, its NIC for a network, and a boot takes it over only if it is the
// machine that boot would have made.
import type { OverlayStatus } from "../disk/persistent-overlay.ts";
import type { DownloadProgress, NetworkAdapter, StageEvent } from "./machine.ts";

/** What a boot tells the page about its progress; a comlink proxy of the page's BootObserver fits it. */
export interface BootReportListener {
  stage(event: StageEvent): void;
  download(progress: DownloadProgress): void;
  disk?(status: OverlayStatus): void;
}

type HeldReport = { kind: "stage"; event: StageEvent } | { kind: "download"; progress: DownloadProgress };

/**
 * A machine's stage and download reports, held until someone listens and then passed on in order. Only a
 * file's latest download report is held: the page shows bytes so far, not their history. Disk reports are
 * dropped until then, since the boot reports the disk's status as it takes the machine over.
 */
export class HeldReports implements BootReportListener {
  private listener: BootReportListener | undefined;
  private held: HeldReport[] = [];

  stage(event: StageEvent): void {
    if (this.listener) this.listener.stage(event);
    else this.held.push({ kind: "stage", event });
  }

  download(progress: DownloadProgress): void {
    if (this.listener) return this.listener.download(progress);
    const at = this.held.findIndex((report) => report.kind === "download" && report.progress.file === progress.file);
    if (at >= 0) this.held[at] = { kind: "download", progress };
    else this.held.push({ kind: "download", progress });
  }

  disk(status: OverlayStatus): void {
    this.listener?.disk?.(status);
  }

  /** From now on reports go to `listener`, starting with those held so far. */
  listen(listener: BootReportListener): void {
    this.listener = listener;
    const held = this.held;
    this.held = [];
    for (const report of held) {
      if (report.kind === "stage") listener.stage(report.event);
      else listener.download(report.progress);
    }
  }
}

/**
 * The NIC seam of a machine made before its network is known. Nothing flows while the machine waits
 * paused; once connected, frames go both ways as with the network itself.
 */
export class LateNetwork implements NetworkAdapter {
  private target: NetworkAdapter | undefined;
  private deliver: ((frame: Uint8Array) => void) | undefined;

  receive(frame: Uint8Array): void {
    this.target?.receive(frame);
  }

  attach(deliver: (frame: Uint8Array) => void): void {
    this.deliver = deliver;
    this.target?.attach(deliver);
  }

  connect(target: NetworkAdapter): void {
    if (this.target) throw new Error("this NIC is already connected");
    this.target = target;
    if (this.deliver) target.attach(this.deliver);
  }
}

/** Everything that decides which machine a boot makes: a prepared machine serves a boot with the same. */
export interface StartIdentity {
  manifestUrl: string;
  inputsHash: string;
  lab: string;
  kernel: string;
  /** "snapshot <sha256>" or "resume <session id>". */
  start: string;
  /** The stored disk the machine was made with: "<overlay id>@<generation>", or "none". */
  disk: string;
}

/** The fields in which a boot differs from a prepared machine; empty when the machine serves it. */
export function identityDifferences(prepared: StartIdentity, boot: StartIdentity): (keyof StartIdentity)[] {
  return (Object.keys(prepared) as (keyof StartIdentity)[]).filter((key) => prepared[key] !== boot[key]);
}
