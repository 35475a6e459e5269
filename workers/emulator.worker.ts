// Module Web Worker hosting the emulator. Control arrives by comlink; console bytes use MessagePorts.
import * as Comlink from "comlink";
import wasmUrl from "v86/build/v86.wasm?url";
import { ArtifactError, type ArtifactSource } from "./core/artifacts.ts";
import { CONSOLE_IDS, Machine, type ConsoleId } from "./core/machine.ts";
import { parseManifest, type ImageManifest } from "./core/manifest.ts";
import type { BootObserver, BootOptions, BootResult, ConsolePortMessage, EmulatorApi, MachineStatus } from "./api.ts";

/** Fetches artifacts next to the manifest, streaming so the page can show bytes and percent. */
class HttpArtifactSource implements ArtifactSource {
  constructor(private readonly base: URL) {}

  async read(artifact: { file: string; size: number; sha256: string }, onProgress: (loaded: number) => void): Promise<Uint8Array> {
    // The sha256 in the query makes each release its own cache entry.
    const url = new URL(`${artifact.file}?v=${artifact.sha256.slice(0, 16)}`, this.base);
    const response = await fetch(url);
    if (!response.ok || !response.body) throw new Error(`HTTP ${response.status} for ${url.pathname}`);
    const out = new Uint8Array(artifact.size);
    let loaded = 0;
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (loaded + value.length > out.length) throw new Error(`${artifact.file} is larger than the manifest says`);
      out.set(value, loaded);
      loaded += value.length;
      onProgress(loaded);
    }
    return out.subarray(0, loaded);
  }
}

class EmulatorWorker implements EmulatorApi {
  private machine: Machine | undefined;
  private readonly ports = new Map<ConsoleId, MessagePort>();

  attachConsoles(ports: Record<ConsoleId, MessagePort>): void {
    for (const id of CONSOLE_IDS) {
      const port = ports[id];
      this.ports.set(id, port);
      port.onmessage = (e: MessageEvent<ConsolePortMessage>) => {
        const msg = e.data;
        if (msg.type === "input") this.machine?.sendInput(id, msg.data);
        else if (msg.type === "resize") this.machine?.resize(id, msg.data[0], msg.data[1]);
      };
    }
  }

  async boot(options: BootOptions, observer: BootObserver): Promise<BootResult> {
    await this.stop();
    let manifest: ImageManifest;
    try {
      const response = await fetch(options.manifestUrl, { cache: "no-cache" });
      if (!response.ok) {
        return { ok: false, error: { kind: "manifest-missing", message: `No images at ${options.manifestUrl} (HTTP ${response.status}). Build them with: npm run images` } };
      }
      manifest = parseManifest(await response.json());
    } catch (err) {
      return { ok: false, error: { kind: "manifest-invalid", message: err instanceof Error ? err.message : String(err) } };
    }
    const machine = new Machine(
      { manifest, kernel: options.kernel, umlMemory: options.umlMemory, source: new HttpArtifactSource(new URL(options.manifestUrl)), wasmPath: wasmUrl },
      {
        stage: (event) => observer.stage(event),
        download: (progress) => observer.download(progress),
        output: (id, bytes) => {
          // Transfer, never copy: console output is the hottest path after the CPU itself.
          const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
          this.ports.get(id)?.postMessage({ type: "output", data: own } satisfies ConsolePortMessage, [own.buffer]);
        },
      },
    );
    this.machine = machine;
    try {
      await machine.boot();
      return { ok: true, manifest };
    } catch (err) {
      if (err instanceof ArtifactError) {
        return { ok: false, error: { kind: err.kind === "missing" ? "artifact-missing" : "artifact-corrupt", message: err.message, file: err.file } };
      }
      return { ok: false, error: { kind: "emulator", message: err instanceof Error ? err.message : String(err) } };
    }
  }

  async stop(): Promise<void> {
    const machine = this.machine;
    this.machine = undefined;
    await machine?.stop();
  }

  status(): MachineStatus {
    const s = this.machine?.status;
    return { stage: s?.stage ?? "idle", kernel: s?.kernel, umid: s?.umid, stageTimes: s?.stageTimes ?? {} };
  }
}

Comlink.expose(new EmulatorWorker());
