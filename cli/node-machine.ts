// The worker core, run directly in Node: artifacts come from images/out on disk.
import { readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import type { ArtifactSource } from "../workers/core/artifacts.ts";
import { Machine, type MachineEvents, type MachineStart, type NetworkAdapter, type WasmLoader } from "../workers/core/machine.ts";
import { NetStack } from "../workers/net/stack.ts";
import { nodeTcpConnector } from "./node-tcp.ts";
import { wasmLoader } from "../workers/core/wasm-loader.ts";
import { createStateDisk, releaseBacking } from "../workers/core/state-disk.ts";
import type { PersistentOverlay } from "../workers/disk/persistent-overlay.ts";
import { parseManifest, type ImageManifest, type KernelFlavour, type ManifestArtifact } from "../workers/core/manifest.ts";

export const defaultImagesDir = (): string =>
  process.env.UMLAB_IMAGES ?? path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "images", "out");

export class UsageError extends Error {}

export async function loadManifest(imagesDir: string): Promise<ImageManifest> {
  const file = path.join(imagesDir, "manifest.json");
  if (!existsSync(file)) {
    throw new UsageError(`no images in ${imagesDir} (manifest.json is missing). Build them with: npm run images`);
  }
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, "utf8"));
  } catch (err) {
    throw new UsageError(`${file} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  return parseManifest(json);
}

export class FileArtifactSource implements ArtifactSource {
  constructor(private readonly dir: string) {}

  async read(artifact: ManifestArtifact, onProgress: (loaded: number) => void): Promise<Uint8Array> {
    const bytes = await readFile(path.join(this.dir, artifact.file));
    onProgress(bytes.length);
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
}

export function v86WasmPath(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve("v86")), "v86.wasm");
}

/** v86's wasm from the npm package, compiled once per process, as the worker compiles its copy once. */
let v86Loader: WasmLoader | undefined;

export function v86WasmLoader(): WasmLoader {
  return (v86Loader ??= wasmLoader(readFile(v86WasmPath()).then((b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength))));
}

export interface NodeMachineOptions {
  /** "snapshot" restores the pre-booted state when the images have one for the kernel; default "cold". */
  start?: "cold" | "snapshot";
  /** Default: a fresh COW disk in memory. */
  stateDisk?: PersistentOverlay;
  /** Default: the stack, with TCP to 10.0.2.2 reaching this machine's loopback. */
  network?: NetworkAdapter;
  /** Saved states carry the rootfs disk's image (for the pre-booted snapshot). */
  carryRootDisk?: boolean;
  /** Default: the npm package's v86.wasm (v86WasmLoader). */
  wasm?: WasmLoader;
  /** Default: the files in imagesDir (FileArtifactSource). */
  source?: ArtifactSource;
}

export function createNodeMachine(imagesDir: string, manifest: ImageManifest, kernel: KernelFlavour, verbose: boolean, events: MachineEvents, options: NodeMachineOptions = {}): Machine {
  const snapshot = manifest.snapshots?.[kernel];
  const start: MachineStart = options.start === "snapshot" && snapshot ? { kind: "snapshot", artifact: snapshot, hostMemoryMiB: snapshot.hostMemoryMiB } : { kind: "cold" };
  const stateDisk = options.stateDisk ?? createStateDisk(releaseBacking(manifest));
  let network = options.network;
  if (!network) {
    const stack = new NetStack(undefined, undefined, { tcp: nodeTcpConnector() });
    // As the worker does: the restored guests keep the addresses the snapshot recorded.
    if (start.kind === "snapshot" && snapshot?.leases) stack.restoreLeases(snapshot.leases);
    network = stack;
  }
  const carryRootDisk = options.carryRootDisk ?? false;
  return new Machine({ manifest, kernel, verbose, start, stateDisk, network, carryRootDisk, source: options.source ?? new FileArtifactSource(imagesDir), wasm: options.wasm ?? v86WasmLoader() }, events);
}
