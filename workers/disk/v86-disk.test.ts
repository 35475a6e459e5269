import { describe, expect, it } from "vitest";
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
});
