// Loading artifacts listed in the manifest: fetched by a runtime-specific source, always checked by sha256.
import type { ArtifactName, ManifestArtifact } from "./manifest.ts";

/** Where artifact bytes come from: HTTP in the browser, the file system in Node. */
export interface ArtifactSource {
  /** Reads a whole artifact, reporting bytes received so far. */
  read(artifact: ManifestArtifact, onProgress: (loaded: number) => void): Promise<Uint8Array>;
  /** Told once an artifact's bytes matched the manifest (e.g. to cache them), or did not (to drop a cached copy). */
  checked?(artifact: ManifestArtifact, bytes: Uint8Array, ok: boolean): Promise<void>;
}

export class ArtifactError extends Error {
  constructor(
    readonly artifact: ArtifactName | "snapshot",
    readonly file: string,
    readonly kind: "missing" | "corrupt",
    message: string,
  ) {
    super(message);
    this.name = "ArtifactError";
  }
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Reads an artifact and verifies its size and sha256 against the manifest. */
export async function loadVerified(
  source: ArtifactSource,
  name: ArtifactName | "snapshot",
  artifact: ManifestArtifact,
  onProgress: (loaded: number) => void,
): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = await source.read(artifact, onProgress);
  } catch (err) {
    throw new ArtifactError(name, artifact.file, "missing", `cannot load ${artifact.file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (bytes.length !== artifact.size) {
    await source.checked?.(artifact, bytes, false);
    throw new ArtifactError(name, artifact.file, "corrupt", `${artifact.file} is ${bytes.length} bytes, the manifest says ${artifact.size}; rebuild with npm run images`);
  }
  const actual = await sha256Hex(bytes);
  if (actual !== artifact.sha256) {
    await source.checked?.(artifact, bytes, false);
    throw new ArtifactError(name, artifact.file, "corrupt", `${artifact.file} has sha256 ${actual.slice(0, 16)}…, the manifest says ${artifact.sha256.slice(0, 16)}…; rebuild with npm run images`);
  }
  await source.checked?.(artifact, bytes, true);
  return bytes;
}

/** Joins initramfs segments; the kernel unpacks concatenated archives, each 4-byte aligned. */
export function concatInitramfs(segments: Uint8Array[]): Uint8Array {
  const padded = segments.map((s) => Math.ceil(s.length / 4) * 4);
  const out = new Uint8Array(padded.reduce((a, b) => a + b, 0));
  let at = 0;
  segments.forEach((s, i) => {
    out.set(s, at);
    at += padded[i] ?? 0;
  });
  return out;
}
