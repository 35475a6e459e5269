// Export of a merged lab: its private backing image plus its COW, turned back into one COW against the
// release's root image, so a native UML can use it with the release's image like any other export.
import { checkRange, forEachBlock, type BlockStore } from "./block-store.ts";
import { COW_HEADER_SIZE, cowLayout, parseCowHeader, writeFreshCow, type CowHeaderFields } from "./uml-cow.ts";

/** [first file block, first disk block, block count], as the image manifest records them. */
export type Extent = readonly [fileBlock: number, diskBlock: number, count: number];

const SECTOR = 512;
/** Sectors compared per step: 64 KiB. */
const STEP_SECTORS = 128;

/** A file inside a disk image, read through its extent map. Read-only. */
export class ExtentFile implements BlockStore {
  constructor(
    private readonly disk: BlockStore,
    private readonly extents: readonly Extent[],
    readonly byteLength: number,
    private readonly blockSize = 4096,
  ) {}

  read(offset: number, length: number): Uint8Array {
    checkRange(this, offset, length);
    const out = new Uint8Array(length);
    forEachBlock(offset, length, this.blockSize, (index, inBlock, pos, n) => {
      out.set(this.disk.read(this.diskBlock(index) * this.blockSize + inBlock, n), pos);
    });
    return out;
  }

  write(): void {
    throw new Error("an extent-mapped file is read-only here");
  }

  private diskBlock(index: number): number {
    let lo = 0;
    let hi = this.extents.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const extent = this.extents[mid];
      if (!extent) break;
      const [first, disk, count] = extent;
      if (index < first) hi = mid - 1;
      else if (index >= first + count) lo = mid + 1;
      else return disk + (index - first);
    }
    throw new RangeError(`file block ${index} is in no extent`);
  }
}

/**
 * Writes onto `target`, which must read as zeros, a COW whose content is `backing` with the COW on `cow`
 * applied, relative to `release`: exactly the sectors that differ from the release get their bit and data.
 */
export function rebaseCow(release: BlockStore, backing: BlockStore, cow: BlockStore, header: CowHeaderFields, target: BlockStore): { sectors: number } {
  const source = parseCowHeader(cow.read(0, COW_HEADER_SIZE));
  const size = release.byteLength;
  if (backing.byteLength !== size || source.size !== size || header.size !== size) {
    throw new RangeError(`sizes differ: release ${size}, private image ${backing.byteLength}, its COW ${source.size}, new COW ${header.size}`);
  }
  const out = cowLayout(size, SECTOR, header.alignment);
  const bitmap = new Uint8Array(out.bitmapLength);
  const sectors = size / SECTOR;
  let changed = 0;
  for (let first = 0; first < sectors; first += STEP_SECTORS) {
    const count = Math.min(STEP_SECTORS, sectors - first);
    const bits = cow.read(source.layout.bitmapOffset + first / 8, Math.ceil(count / 8));
    const base = release.read(first * SECTOR, count * SECTOR);
    const content = backing.read(first * SECTOR, count * SECTOR).slice();
    for (let i = 0; i < count; i++) {
      if (((bits[i >> 3] ?? 0) >> (i & 7)) & 1) content.set(cow.read(source.layout.dataOffset + (first + i) * SECTOR, SECTOR), i * SECTOR);
    }
    for (let i = 0; i < count; i++) {
      const sector = content.subarray(i * SECTOR, (i + 1) * SECTOR);
      if (sameBytes(sector, base.subarray(i * SECTOR, (i + 1) * SECTOR))) continue;
      const n = first + i;
      bitmap[n >> 3] = (bitmap[n >> 3] ?? 0) | (1 << (n & 7));
      target.write(out.dataOffset + n * SECTOR, sector);
      changed++;
    }
  }
  writeFreshCow(target, header);
  target.write(out.bitmapOffset, bitmap);
  return { sectors: changed };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
