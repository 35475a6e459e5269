// The state disk: the host's /dev/sdb, whose bytes are the COW files of the root devices of UML and of its
// instances. Its blocks are what the worker keeps in IndexedDB and what a saved state carries.
//
// Layout: STATE_REGIONS equal regions, each one COW file over the same backing image. Region 0, at offset
// 0, is the main UML's (what Export downloads and a merge folds); region n - 1 is instance n's (2..4),
// which the host reaches through a loop device at that offset (umlab-instance).
import { RegionStore, ZeroBlockStore, type BlockStore } from "../disk/block-store.ts";
import { PersistentOverlay, type PersistentOverlayOptions } from "../disk/persistent-overlay.ts";
import { COW_HEADER_SIZE, cowLayout, parseCowHeader, writeFreshCow } from "../disk/uml-cow.ts";
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

/** The main UML's region and one per instance (2..4); the host divides sdb by this number too. */
export const STATE_REGIONS = 4;

/** One COW file's full length, rounded up to whole MiB: the stride of the state disk's regions. */
export function cowRegionSize(backing: BackingFile): number {
  return Math.ceil(cowLayout(backing.size).totalLength / MIB) * MIB;
}

/** The IDE disk's size: STATE_REGIONS COW regions. */
export function stateDiskSize(backing: BackingFile): number {
  return STATE_REGIONS * cowRegionSize(backing);
}

/** The COW file of UML instance n (2..STATE_REGIONS) on a state disk. */
export function instanceCow(disk: BlockStore, backing: BackingFile, n: number): RegionStore {
  if (!Number.isInteger(n) || n < 2 || n > STATE_REGIONS) throw new RangeError(`instances are numbered 2 to ${STATE_REGIONS}, not ${n}`);
  const size = cowRegionSize(backing);
  return new RegionStore(disk, (n - 1) * size, size);
}

/** The main UML's COW file on a state disk (region 0). */
export function mainCow(disk: BlockStore, backing: BackingFile): RegionStore {
  return new RegionStore(disk, 0, cowRegionSize(backing));
}

/** True when `cow` starts with a header UML accepts for `backing` (the path, size and mtime it checks). */
function fitsBacking(cow: BlockStore, backing: BackingFile): boolean {
  try {
    const header = parseCowHeader(cow.read(0, COW_HEADER_SIZE));
    return header.backingFile === backingPath(backing) && header.size === backing.size && header.mtime === backing.mtime;
  } catch {
    return false;
  }
}

/**
 * A state disk over zeros holding `stored` blocks. Without them the main region gets a fresh COW header;
 * every instance region that holds no COW for `backing` gets one too (a disk stored before instances had
 * regions, or after an import, has none there).
 */
export function createStateDisk(backing: BackingFile, options: PersistentOverlayOptions = {}): PersistentOverlay {
  const disk = new PersistentOverlay(new ZeroBlockStore(stateDiskSize(backing)), { blockSize: STATE_BLOCK_SIZE, ...options });
  const header = { backingFile: backingPath(backing), mtime: backing.mtime, size: backing.size };
  if (!options.stored || options.stored.size === 0) writeFreshCow(mainCow(disk, backing), header);
  const { dataOffset } = cowLayout(backing.size);
  for (let n = 2; n <= STATE_REGIONS; n++) {
    const cow = instanceCow(disk, backing, n);
    if (fitsBacking(cow, backing)) continue;
    // A COW over another backing image (before a merge) may have bits set: its bitmap starts empty again.
    if (cow.read(0, dataOffset).some((byte) => byte !== 0)) cow.write(0, new Uint8Array(dataOffset));
    writeFreshCow(cow, header);
  }
  return disk;
}
