import { describe, expect, it } from "vitest";
import { encodeSparseImage, SparseImage } from "./sparse-image.ts";
import { PersistentOverlay } from "./persistent-overlay.ts";

function sampleImage(size: number): Uint8Array {
  const image = new Uint8Array(size);
  image.set([1, 2, 3], 0); // block 0
  if (size > 4096 * 6) image.set([9], 4096 * 5 + 100); // block 5
  image[size - 1] = 7; // the short last block
  return image;
}

describe("sparse image", () => {
  it("stores only non-zero blocks and reads back every byte", () => {
    const image = sampleImage(4096 * 10 + 1000);
    const encoded = encodeSparseImage(image);
    expect(encoded.length).toBe(24 + 3 * 4 + 3 * 4096);
    const sparse = new SparseImage(encoded);
    expect(sparse.byteLength).toBe(image.length);
    expect(sparse.read(0, image.length)).toEqual(image);
    expect(sparse.read(4096 * 5 + 99, 3)).toEqual(new Uint8Array([0, 9, 0]));
  });

  it("reads across block boundaries and at the end", () => {
    const image = new Uint8Array(4096 * 3).map((_, i) => (i * 7) % 251);
    const sparse = new SparseImage(encodeSparseImage(image));
    expect(sparse.read(4000, 200)).toEqual(image.subarray(4000, 4200));
    expect(sparse.read(image.length - 5, 5)).toEqual(image.subarray(image.length - 5));
  });

  it("rejects bad input with a clear error", () => {
    expect(() => new SparseImage(new Uint8Array(100))).toThrow(/bad magic/);
    const encoded = encodeSparseImage(sampleImage(4096 * 4));
    expect(() => new SparseImage(encoded.subarray(0, encoded.length - 1))).toThrow(/truncated/);
    const sparse = new SparseImage(encoded);
    expect(() => sparse.read(4096 * 4 - 1, 2)).toThrow(RangeError);
    expect(() => sparse.write()).toThrow(/read-only/);
  });
});

describe("overlay block store", () => {
  it("keeps partial writes on top of the base and leaves the base alone", () => {
    const image = sampleImage(4096 * 4);
    const base = new SparseImage(encodeSparseImage(image));
    const overlay = new PersistentOverlay(base, { blockSize: 4096 });
    overlay.write(4090, new Uint8Array([5, 5, 5, 5, 5, 5, 5, 5, 5, 5]));
    expect([...overlay.storedBlocks.keys()]).toEqual([0, 1]);
    expect(overlay.read(0, 3)).toEqual(new Uint8Array([1, 2, 3]));
    expect(overlay.read(4088, 14)).toEqual(new Uint8Array([0, 0, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 0, 0]));
    expect(base.read(4090, 4)).toEqual(new Uint8Array(4));
  });
});
