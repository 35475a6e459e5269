// The state disk: the host's /dev/sdb, whose bytes are UML's COW file for the root device.
// Its blocks are what the worker keeps in IndexedDB, what a saved state carries, and what Export downloads.
import { ZeroBlockStore } from "../disk/block-store.ts";
import { PersistentOverlay, type PersistentOverlayOptions } from "../disk/persistent-overlay.ts";
import { cowLayout, writeFreshCow } from "../disk/uml-cow.ts";
import type { ImageManifest } from "./manifest.ts";

/** Overlay block size: large enough that a 10 MB write is a few hundred IndexedDB records. */
export const STATE_BLOCK_SIZE = 65536;

/** Where the host mounts the rootfs disk (sda), whose files are UML's backing images. */
export const IMAGES_DIR = "/images";

const MIB = 1024 * 1024;

/**
 * The backing file a COW names: the release's root image, or after a merge the lab's private one (the
 * same file, renamed, in the lab's own copy of the rootfs disk). UML checks its size and mtime.
 */
export interface BackingFile {
  /** Name in /images. */
  file: string;
  size: number;
  mtime: number;
}

export function releaseBacking(manifest: ImageManifest): BackingFile {
  const { file, size, mtime } = manifest.backing;
  return { file, size, mtime };
}

export function backingPath(backing: BackingFile): string {
  return `${IMAGES_DIR}/${backing.file}`;
}

/** The COW file's full length, rounded up to whole MiB for the IDE disk. */
export function stateDiskSize(backing: BackingFile): number {
  return Math.ceil(cowLayout(backing.size).totalLength / MIB) * MIB;
}

/** A state disk over zeros holding `stored` blocks; without them it gets a fresh COW header. */
export function createStateDisk(backing: BackingFile, options: PersistentOverlayOptions = {}): PersistentOverlay {
  const disk = new PersistentOverlay(new ZeroBlockStore(stateDiskSize(backing)), { blockSize: STATE_BLOCK_SIZE, ...options });
  if (!options.stored || options.stored.size === 0) {
    writeFreshCow(disk, { backingFile: backingPath(backing), mtime: backing.mtime, size: backing.size });
  }
  return disk;
}
