// The page's side of the emulator worker: comlink for control, one MessagePort per console for bytes.
import * as Comlink from "comlink";
import type {
  BootObserver,
  BootOptions,
  BootResult,
  CmdlineCheck,
  ConsoleId,
  ConsoleMuxMessage,
  ConsolePortMessage,
  DiskStatus,
  EmulatorApi,
  GuestRequest,
  GuestResponse,
  ImportResult,
  KernelCheck,
  MconsoleResult,
  MergeResult,
  NetworkStatus,
  PrefetchHint,
  RestartOptions,
  SaveSessionOptions,
  SessionInfo,
  SharedEntry,
  UmlState,
} from "../workers/api.ts";
import { errorText } from "./errors.ts";
import { emulatorWorkerName } from "./options.ts";
import type { ToolkitApi } from "./toolkit-api.ts";

export interface ClientEvents {
  output(id: ConsoleId, bytes: Uint8Array): void;
  /** A message about the extra UML consoles (open, output, close). */
  mux(message: ConsoleMuxMessage): void;
  /** The worker script failed to load or threw outside a call; the client is unusable afterwards. */
  failed(message: string): void;
}

function newWorker(hint?: PrefetchHint): Worker {
  return new Worker(new URL("../workers/emulator.worker.ts", import.meta.url), { type: "module", name: emulatorWorkerName(hint) });
}

function loadFailure(e: Event): string {
  // A module worker that fails to load fires a bare Event with no message.
  return e instanceof ErrorEvent && e.message ? `${e.message}${e.filename ? ` (${e.filename}:${e.lineno})` : ""}` : "The emulator worker script failed to load.";
}

/** A worker started before the page built its UI, waiting for the first client. */
let early: { worker: Worker; failure: string | undefined } | undefined;

/**
 * Starts the emulator worker now. Its script (with v86) takes 0.1-0.2 s to arrive and evaluate; started
 * first, that overlaps loading and building the page instead of following it. With a hint, the worker also
 * starts the downloads of the boot the page is about to ask for. The first EmulatorClient adopts it.
 */
export function startEmulatorWorker(hint?: PrefetchHint): void {
  if (early) return;
  const entry: { worker: Worker; failure: string | undefined } = { worker: newWorker(hint), failure: undefined };
  // Kept for the client: a load error can come before it listens.
  entry.worker.addEventListener("error", (e) => (entry.failure ??= loadFailure(e)));
  early = entry;
}

export class EmulatorClient implements ToolkitApi {
  private readonly worker: Worker;
  private readonly api: Comlink.Remote<EmulatorApi>;
  private readonly ports: Record<ConsoleId, MessagePort>;
  private readonly muxPort: MessagePort;
  /** Why the worker refused the extra consoles' port, if it did; the rest of the lab still works then. */
  private muxRefused: string | undefined;
  private broken = false;
  private booting = false;

  constructor(private readonly events: ClientEvents) {
    const adopted = early;
    early = undefined;
    this.worker = adopted?.worker ?? newWorker();
    this.worker.addEventListener("error", (e) => this.fail(loadFailure(e)));
    const failure = adopted?.failure;
    // After the constructor: the app takes this client as its own first.
    if (failure !== undefined) queueMicrotask(() => this.fail(failure));
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

    const mux = new MessageChannel();
    this.muxPort = mux.port1;
    this.muxPort.onmessage = (e: MessageEvent<ConsoleMuxMessage>) => this.events.mux(e.data);
    this.api.attachConsoleMux(Comlink.transfer(mux.port2, [mux.port2])).catch((err: unknown) => {
      this.muxRefused = errorText(err);
    });
  }

  /** Set when the worker could not take the extra consoles' port: "+ Console" says why. */
  get consoleMuxError(): string | undefined {
    return this.muxRefused;
  }

  /** Input or a size for an extra console; input bytes are transferred. */
  sendMux(message: Extract<ConsoleMuxMessage, { type: "input" | "resize" }>): void {
    if (message.type === "input") this.muxPort.postMessage(message, [message.data.buffer]);
    else this.muxPort.postMessage(message);
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

  uml(): Promise<UmlState | undefined> {
    return this.api.uml();
  }

  mconsole(command: string, instance?: number): Promise<MconsoleResult> {
    return this.api.mconsole(command, instance);
  }

  startInstance(options?: { n?: number; mem?: string }): Promise<number> {
    return this.api.startInstance(options);
  }

  stopInstance(n: number): Promise<void> {
    return this.api.stopInstance(n);
  }

  openConsole(): Promise<number> {
    return this.api.openConsole();
  }

  restartUml(options?: RestartOptions): Promise<void> {
    return this.api.restartUml(options);
  }

  checkCmdline(text: string): Promise<{ check: CmdlineCheck; defaults: string }> {
    return this.api.checkCmdline(text);
  }

  kernelConfig(kernel?: string): Promise<string> {
    return this.api.kernelConfig(kernel);
  }

  /** The kernel's bytes move to the worker (transferred), so the caller must not use them afterwards. */
  uploadKernel(name: string, bytes: Uint8Array): Promise<KernelCheck> {
    return this.api.uploadKernel(name, Comlink.transfer(bytes, [bytes.buffer]));
  }

  listShared(): Promise<SharedEntry[]> {
    return this.api.listShared();
  }

  /** The file's bytes move to the worker (transferred), so the caller must not use them afterwards. */
  putShared(path: string, bytes: Uint8Array): Promise<void> {
    return this.api.putShared(path, Comlink.transfer(bytes, [bytes.buffer]));
  }

  readShared(path: string): Promise<Uint8Array> {
    return this.api.readShared(path);
  }

  deleteShared(path: string): Promise<void> {
    return this.api.deleteShared(path);
  }

  /** Kills the worker outright, e.g. when a boot is still in flight and cannot be stopped cleanly. */
  terminate(): void {
    this.broken = true;
    this.worker.terminate();
    for (const port of Object.values(this.ports)) port.close();
    this.muxPort.close();
  }

  private fail(message: string): void {
    if (this.broken) return;
    this.broken = true;
    this.events.failed(message);
  }
}

export { errorText };
