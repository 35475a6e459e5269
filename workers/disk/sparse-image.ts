// A disk image without its all-zero blocks: how the mostly empty root filesystem is shipped.
// Layout (little-endian): "UMLSPRS1", u32 blockSize, u32 blockCount, u32 byteLength, u32 presentCount,
// u32 index[presentCount] (ascending), then presentCount blocks of data (the last one may be short).
import { checkRange, forEachBlock, type BlockStore } from "./block-store.ts";

const MAGIC = "UMLSPRS1";
const HEADER = 24;

export function encodeSparseImage(image: Uint8Array, blockSize = 4096): Uint8Array {
  const blockCount = Math.ceil(image.length / blockSize);
  const present: number[] = [];
  for (let i = 0; i < blockCount; i++) {
    const block = image.subarray(i * blockSize, Math.min((i + 1) * blockSize, image.length));
    if (block.some((b) => b !== 0)) present.push(i);
  }
  const dataStart = HEADER + present.length * 4;
  const out = new Uint8Array(dataStart + present.length * blockSize);
  const view = new DataView(out.buffer);
  out.set(new TextEncoder().encode(MAGIC), 0);
  view.setUint32(8, blockSize, true);
  view.setUint32(12, blockCount, true);
  view.setUint32(16, image.length, true);
  view.setUint32(20, present.length, true);
  present.forEach((index, n) => {
    view.setUint32(HEADER + n * 4, index, true);
    out.set(image.subarray(index * blockSize, Math.min((index + 1) * blockSize, image.length)), dataStart + n * blockSize);
  });
  return out;
}

/** A read-only BlockStore over an encoded sparse image; absent blocks read as zeros. */
export class SparseImage implements BlockStore {
  readonly byteLength: number;
  readonly blockSize: number;
  private readonly offsets = new Map<number, number>();

  constructor(private readonly encoded: Uint8Array) {
    const view = new DataView(encoded.buffer, encoded.byteOffset, encoded.byteLength);
    if (encoded.length < HEADER || new TextDecoder().decode(encoded.subarray(0, 8)) !== MAGIC) {
      throw new Error("not a umlab sparse disk image (bad magic)");
    }
    this.blockSize = view.getUint32(8, true);
    const blockCount = view.getUint32(12, true);
    this.byteLength = view.getUint32(16, true);
    const count = view.getUint32(20, true);
    const dataStart = HEADER + count * 4;
    if (this.blockSize === 0 || this.blockSize % 512 !== 0 || Math.ceil(this.byteLength / this.blockSize) !== blockCount || encoded.length !== dataStart + count * this.blockSize) {
      throw new Error("sparse disk image is truncated or its header is inconsistent");
    }
    for (let n = 0; n < count; n++) {
      const index = view.getUint32(HEADER + n * 4, true);
      if (index >= blockCount) throw new Error(`sparse disk image names block ${index} of ${blockCount}`);
      this.offsets.set(index, dataStart + n * this.blockSize);
    }
  }

  /** The encoded image, as shipped (what a state that carries this disk holds). */
  get encodedBytes(): Uint8Array {
    return this.encoded;
  }

  read(offset: number, length: number): Uint8Array {
    checkRange(this, offset, length);
    const out = new Uint8Array(length);
    forEachBlock(offset, length, this.blockSize, (index, inBlock, pos, n) => {
      const at = this.offsets.get(index);
      if (at !== undefined) out.set(this.encoded.subarray(at + inBlock, at + inBlock + n), pos);
    });
    return out;
  }

  write(): void {
    throw new Error("the sparse base image is read-only; write through a PersistentOverlay");
  }
}
