// The state disk: the host's /dev/sdb, whose bytes are UML's COW file for the root device.
// Its blocks are what the worker keeps in IndexedDB, what a saved state carries, and what Export downloads.
import { ZeroBlockStore } from "../disk/block-store.ts";
import { PersistentOverlay, type PersistentOverlayOptions } from "../disk/persistent-overlay.ts";
import { cowLayout, writeFreshCow } from "../disk/uml-cow.ts";
import type { ImageManifest } from "./manifest.ts";

/**
 * The mtime the host gives the backing device and the COW header records. UML refuses a COW whose
 * backing mtime changed, and a device node's mtime would be its boot time; the release's identity is in
 * the backing file's name instead.
 */
export const BACKING_MTIME = 946684800;

/** Overlay block size: large enough that a 10 MB write is a few hundred IndexedDB records. */
export const STATE_BLOCK_SIZE = 65536;

const MIB = 1024 * 1024;

/** The backing path inside the host: the release's root image, versioned by the rootfs artifact's hash. */
export function backingFileName(manifest: ImageManifest): string {
  return `/images/rootfs-${manifest.artifacts.rootfs.sha256.slice(0, 12)}.img`;
}

export function backingSize(manifest: ImageManifest): number {
  const size = manifest.artifacts.rootfs.rawSize;
  if (size === undefined) throw new Error("manifest.json gives no rawSize for the rootfs; rebuild with npm run images");
  return size;
}

/** The COW file's full length, rounded up to whole MiB for the IDE disk. */
export function stateDiskSize(manifest: ImageManifest): number {
  return Math.ceil(cowLayout(backingSize(manifest)).totalLength / MIB) * MIB;
}

/** A state disk over zeros holding `stored` blocks; without them it gets a fresh COW header. */
export function createStateDisk(manifest: ImageManifest, options: PersistentOverlayOptions = {}): PersistentOverlay {
  const disk = new PersistentOverlay(new ZeroBlockStore(stateDiskSize(manifest)), { blockSize: STATE_BLOCK_SIZE, ...options });
  if (!options.stored || options.stored.size === 0) {
    writeFreshCow(disk, { backingFile: backingFileName(manifest), mtime: BACKING_MTIME, size: backingSize(manifest) });
  }
  return disk;
}
