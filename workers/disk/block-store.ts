// The seam between the emulator's disks and where their bytes live.

export interface BlockStore {
  readonly byteLength: number;
  /** Returns `length` bytes from `offset`; the result may be a view the caller must not keep. */
  read(offset: number, length: number): Uint8Array;
  write(offset: number, data: Uint8Array): void;
}

/** Keeps writes in memory, block by block, on top of a read-only base. */
export class OverlayBlockStore implements BlockStore {
  readonly byteLength: number;
  private readonly blocks = new Map<number, Uint8Array>();

  constructor(
    private readonly base: BlockStore,
    readonly blockSize = 4096,
  ) {
    this.byteLength = base.byteLength;
  }

  /** The written blocks, by block index: what a persistence layer saves. */
  get dirtyBlocks(): ReadonlyMap<number, Uint8Array> {
    return this.blocks;
  }

  read(offset: number, length: number): Uint8Array {
    checkRange(this, offset, length);
    if (this.blocks.size === 0) return this.base.read(offset, length);
    const out = new Uint8Array(length);
    forEachBlock(offset, length, this.blockSize, (index, inBlock, outPos, n) => {
      const block = this.blocks.get(index);
      const src = block ? block.subarray(inBlock, inBlock + n) : this.base.read(index * this.blockSize + inBlock, n);
      out.set(src, outPos);
    });
    return out;
  }

  write(offset: number, data: Uint8Array): void {
    checkRange(this, offset, data.length);
    forEachBlock(offset, data.length, this.blockSize, (index, inBlock, dataPos, n) => {
      let block = this.blocks.get(index);
      if (!block) {
        const start = index * this.blockSize;
        block = new Uint8Array(this.blockSize);
        block.set(this.base.read(start, Math.min(this.blockSize, this.byteLength - start)));
        this.blocks.set(index, block);
      }
      block.set(data.subarray(dataPos, dataPos + n), inBlock);
    });
  }
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
