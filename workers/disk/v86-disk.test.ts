import { describe, expect, it } from "vitest";
import { PendingBlockStore } from "./block-store.ts";
import { encodeSparseImage, SparseImage } from "./sparse-image.ts";
import { PersistentOverlay } from "./persistent-overlay.ts";
import { V86Disk } from "./v86-disk.ts";

describe("V86Disk", () => {
  it("serves v86's get/set/load calls from the store", () => {
    const image = new Uint8Array(8192);
    image[510] = 0x55;
    const disk = new V86Disk(new PersistentOverlay(new SparseImage(encodeSparseImage(image)), { blockSize: 4096 }));
    let loaded = false;
    disk.onload = () => (loaded = true);
    disk.load();
    expect(loaded).toBe(true);
    expect(disk.get_from_cache(510, 1)).toEqual(new Uint8Array([0x55]));
    let got: Uint8Array | undefined;
    disk.set(1024, new Uint8Array([1, 2]), () => disk.get(1023, 4, (d) => (got = d)));
    expect(got).toEqual(new Uint8Array([0, 1, 2, 0]));
  });

  it("saves only written blocks in its state and restores them", () => {
    const disk = new V86Disk(new PersistentOverlay(new SparseImage(encodeSparseImage(new Uint8Array(4096 * 64))), { blockSize: 4096 }));
    disk.set(4096 * 10 + 3, new Uint8Array([42]), () => undefined);
    const state = disk.get_state();
    const blocks = state[2] as [number, Uint8Array][];
    expect(blocks.map(([i]) => i)).toEqual([10]);
    const copy = new V86Disk(new PersistentOverlay(new SparseImage(encodeSparseImage(new Uint8Array(4096 * 64))), { blockSize: 4096 }));
    copy.set_state(state);
    copy.get(4096 * 10, 4, (d) => expect(d).toEqual(new Uint8Array([0, 0, 0, 42])));
  });

  it("carries its base in a state when asked, and a disk built without content takes it from the state", () => {
    const image = new Uint8Array(4096 * 16);
    image.set(new TextEncoder().encode("busybox"), 4096 * 3);
    const base = new SparseImage(encodeSparseImage(image));
    const disk = new V86Disk(new PersistentOverlay(base, { blockSize: 4096 }), { embed: () => base.encodedBytes, restore: () => undefined });
    disk.set(4096 * 5, new Uint8Array([7]), () => undefined);
    const state = disk.get_state();
    expect(state[3]).toBe(base.encodedBytes);

    // The restoring side knows only the size; before the state arrives (v86's partition probe) it reads zeros.
    const pending = new PendingBlockStore(image.length);
    const restored = new V86Disk(new PersistentOverlay(pending, { blockSize: 4096 }), { restore: (bytes) => pending.resolve(new SparseImage(bytes)) });
    restored.get(4096 * 3, 7, (d) => expect(d).toEqual(new Uint8Array(7)));
    expect(pending.resolved).toBe(false);
    restored.set_state(state);
    restored.get(4096 * 3, 7, (d) => expect(new TextDecoder().decode(d)).toBe("busybox"));
    restored.get(4096 * 5, 1, (d) => expect(d).toEqual(new Uint8Array([7])));
    // It saves only its written blocks again (a session does not carry the image).
    expect(restored.get_state()).toHaveLength(3);
  });

  it("refuses a carried image that does not fit, and a state with an image for a disk that takes none", () => {
    const other = new SparseImage(encodeSparseImage(new Uint8Array(4096 * 8)));
    const pending = new PendingBlockStore(4096 * 16);
    expect(() => pending.resolve(other)).toThrow(/expected 65536/);
    const plain = new V86Disk(new PersistentOverlay(new SparseImage(encodeSparseImage(new Uint8Array(4096 * 8))), { blockSize: 4096 }));
    expect(() => plain.set_state([4096 * 8, 4096, [], other.encodedBytes])).toThrow(/does not take/);
  });
});
