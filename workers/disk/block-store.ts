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
