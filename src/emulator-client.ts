// The page's side of the emulator worker: comlink for control, one MessagePort per console for bytes.
import * as Comlink from "comlink";
import type {
  BootObserver,
  BootOptions,
  BootResult,
  ConsoleId,
  ConsolePortMessage,
  DiskStatus,
  EmulatorApi,
  GuestRequest,
  GuestResponse,
  ImportResult,
  MergeResult,
  NetworkStatus,
  SaveSessionOptions,
  SessionInfo,
} from "../workers/api.ts";

export interface ClientEvents {
  output(id: ConsoleId, bytes: Uint8Array): void;
  /** The worker script failed to load or threw outside a call; the client is unusable afterwards. */
  failed(message: string): void;
}

export class EmulatorClient {
  private readonly worker: Worker;
  private readonly api: Comlink.Remote<EmulatorApi>;
  private readonly ports: Record<ConsoleId, MessagePort>;
  private broken = false;
  private booting = false;

  constructor(private readonly events: ClientEvents) {
    this.worker = new Worker(new URL("../workers/emulator.worker.ts", import.meta.url), { type: "module", name: "umlab-emulator" });
    this.worker.addEventListener("error", (e) => {
      // A module worker that fails to load fires a bare Event with no message.
      this.fail(e instanceof ErrorEvent && e.message ? `${e.message}${e.filename ? ` (${e.filename}:${e.lineno})` : ""}` : "The emulator worker script failed to load.");
    });
    this.worker.addEventListener("messageerror", () => this.fail("A message from the emulator worker could not be decoded."));
    this.api = Comlink.wrap<EmulatorApi>(this.worker);

    const uml = new MessageChannel();
    const host = new MessageChannel();
    this.ports = { uml: uml.port1, host: host.port1 };
    for (const id of ["uml", "host"] as const) {
      this.ports[id].onmessage = (e: MessageEvent<ConsolePortMessage>) => {
        if (e.data.type === "output") this.events.output(id, e.data.data);
      };
    }
    void this.api.attachConsoles(Comlink.transfer({ uml: uml.port2, host: host.port2 }, [uml.port2, host.port2])).catch((err: unknown) => this.fail(errorText(err)));
  }

  /** True once the worker has failed; a new client is needed then. */
  get isBroken(): boolean {
    return this.broken;
  }

  sendInput(id: ConsoleId, bytes: Uint8Array): void {
    // The encoder's fresh buffer is ours to give away.
    this.ports[id].postMessage({ type: "input", data: bytes } satisfies ConsolePortMessage, [bytes.buffer]);
  }

  sendResize(id: ConsoleId, cols: number, rows: number): void {
    this.ports[id].postMessage({ type: "resize", data: [cols, rows] } satisfies ConsolePortMessage);
  }

  /** True while a boot() call has not returned; the worker cannot stop such a boot cleanly. */
  get isBooting(): boolean {
    return this.booting;
  }

  async boot(options: BootOptions, observer: BootObserver): Promise<BootResult> {
    this.booting = true;
    try {
      return await this.api.boot(options, Comlink.proxy(observer));
    } finally {
      this.booting = false;
    }
  }

  stop(): Promise<void> {
    return this.api.stop();
  }

  disk(): Promise<DiskStatus> {
    return this.api.disk();
  }

  flushDisk(): Promise<DiskStatus> {
    return this.api.flushDisk();
  }

  saveSession(options: SaveSessionOptions): Promise<SessionInfo> {
    return this.api.saveSession(options);
  }

  listSessions(lab: string): Promise<SessionInfo[]> {
    return this.api.listSessions(lab);
  }

  deleteSession(id: string): Promise<void> {
    return this.api.deleteSession(id);
  }

  resetDisk(lab: string): Promise<void> {
    return this.api.resetDisk(lab);
  }

  exportDisk(lab: string): Promise<{ blob: Blob; fileName: string }> {
    return this.api.exportDisk(lab);
  }

  mergeDisk(lab: string): Promise<MergeResult> {
    return this.api.mergeDisk(lab);
  }

  /** A Blob crosses to the worker by reference; its bytes are not copied here. */
  importDisk(lab: string, file: Blob): Promise<ImportResult> {
    return this.api.importDisk(lab, file);
  }

  network(): Promise<NetworkStatus | undefined> {
    return this.api.network();
  }

  listeningPorts(): Promise<number[]> {
    return this.api.listeningPorts();
  }

  /** The request's body buffer moves to the worker rather than being copied. */
  guestHttp(port: number, request: GuestRequest): Promise<GuestResponse> {
    const buffer = request.body?.buffer;
    return this.api.guestHttp(port, buffer instanceof ArrayBuffer ? Comlink.transfer(request, [buffer]) : request);
  }

  /** A port forward into UML: the connection's bytes travel on the returned port. */
  forwardPort(port: number): Promise<MessagePort> {
    return this.api.forwardPort(port);
  }

  /** Guest connections to 10.0.2.2:`port` arrive on `listener` (transferred to the worker). */
  serveLoopback(port: number, listener: MessagePort): Promise<void> {
    return this.api.serveLoopback(port, Comlink.transfer(listener, [listener]));
  }

  /** Kills the worker outright, e.g. when a boot is still in flight and cannot be stopped cleanly. */
  terminate(): void {
    this.broken = true;
    this.worker.terminate();
    for (const port of Object.values(this.ports)) port.close();
  }

  private fail(message: string): void {
    if (this.broken) return;
    this.broken = true;
    this.events.failed(message);
  }
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
