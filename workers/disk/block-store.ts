// The seam between the emulator's disks and where their bytes live.

export interface BlockStore {
  readonly byteLength: number;
  /** Returns `length` bytes from `offset`; the result may be a view the caller must not keep. */
  read(offset: number, length: number): Uint8Array;
  write(offset: number, data: Uint8Array): void;
}

export function checkRange(store: BlockStore, offset: number, length: number): void {
  if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > store.byteLength) {
    throw new RangeError(`disk access ${offset}+${length} is outside 0..${store.byteLength}`);
  }
}

/** Splits [offset, offset+length) at block boundaries: fn(blockIndex, offsetInBlock, positionInRange, byteCount). */
export function forEachBlock(offset: number, length: number, blockSize: number, fn: (index: number, inBlock: number, pos: number, n: number) => void): void {
  let pos = 0;
  while (pos < length) {
    const abs = offset + pos;
    const index = Math.floor(abs / blockSize);
    const inBlock = abs - index * blockSize;
    const n = Math.min(blockSize - inBlock, length - pos);
    fn(index, inBlock, pos, n);
    pos += n;
  }
}

/** A disk of zeros: the base of the state disk, whose every written block lives in the overlay. */
export class ZeroBlockStore implements BlockStore {
  constructor(readonly byteLength: number) {}

  read(offset: number, length: number): Uint8Array {
    checkRange(this, offset, length);
    return new Uint8Array(length);
  }

  write(): void {
    throw new Error("the zero base is read-only; write through a PersistentOverlay");
  }
}

/** A window of another store: `length` bytes from `start`, addressed from 0 (one COW file of several on a disk). */
export class RegionStore implements BlockStore {
  constructor(
    private readonly store: BlockStore,
    private readonly start: number,
    readonly byteLength: number,
  ) {
    checkRange(store, start, byteLength);
  }

  read(offset: number, length: number): Uint8Array {
    checkRange(this, offset, length);
    return this.store.read(this.start + offset, length);
  }

  write(offset: number, data: Uint8Array): void {
    checkRange(this, offset, data.length);
    this.store.write(this.start + offset, data);
  }
}

/**
 * A read-only disk whose content arrives after the emulator that uses it was built: a restored state
 * carries it (the pre-booted snapshot holds its root disk). Until `resolve` it reads as zeros: v86 probes
 * its disks for a partition table as it is built, before the state (and with it the guest) exists.
 */
export class PendingBlockStore implements BlockStore {
  private content: BlockStore | undefined;

  constructor(readonly byteLength: number) {}

  resolve(content: BlockStore): void {
    if (content.byteLength !== this.byteLength) throw new Error(`the disk content has ${content.byteLength} bytes, expected ${this.byteLength}`);
    this.content = content;
  }

  get resolved(): boolean {
    return this.content !== undefined;
  }

  read(offset: number, length: number): Uint8Array {
    if (!this.content) {
      checkRange(this, offset, length);
      return new Uint8Array(length);
    }
    return this.content.read(offset, length);
  }

  write(): void {
    throw new Error("a pending base is read-only; write through a PersistentOverlay");
  }
}
