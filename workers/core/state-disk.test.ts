import { describe, expect, it } from "vitest";
import { RegionStore, ZeroBlockStore } from "../disk/block-store.ts";
import { PersistentOverlay } from "../disk/persistent-overlay.ts";
import { cowLayout, parseCowHeader, readCowFile, COW_HEADER_SIZE } from "../disk/uml-cow.ts";
import { cowRegionSize, createStateDisk, instanceCow, mainCow, STATE_BLOCK_SIZE, STATE_REGIONS, stateDiskSize, type BackingFile } from "./state-disk.ts";

const MIB = 1024 * 1024;
const release: BackingFile = { file: "rootfs-0123456789ab.img", size: 256 * MIB, mtime: 1_700_000_000 };
const merged: BackingFile = { file: "private-1-abcd.img", size: 256 * MIB, mtime: 1_700_000_500 };

function header(store: { read(offset: number, length: number): Uint8Array }) {
  return parseCowHeader(store.read(0, COW_HEADER_SIZE));
}

describe("RegionStore", () => {
  it("reads and writes a window of its store, and refuses anything outside it", () => {
    const disk = new PersistentOverlay(new ZeroBlockStore(4096), { blockSize: 1024 });
    const region = new RegionStore(disk, 1000, 2000);
    region.write(10, new Uint8Array([1, 2, 3]));
    expect([...disk.read(1010, 3)]).toEqual([1, 2, 3]);
    expect([...region.read(9, 5)]).toEqual([0, 1, 2, 3, 0]);
    expect(() => region.read(1999, 2)).toThrow(RangeError);
    expect(() => region.write(1998, new Uint8Array(3))).toThrow(RangeError);
    expect(() => new RegionStore(disk, 3000, 2000)).toThrow(RangeError);
  });
});

describe("the state disk's regions", () => {
  it("holds one whole-MiB COW region for the main UML and one per instance", () => {
    const region = cowRegionSize(release);
    expect(region % MIB).toBe(0);
    expect(region).toBeGreaterThanOrEqual(cowLayout(release.size).totalLength);
    expect(region % STATE_BLOCK_SIZE).toBe(0);
    expect(stateDiskSize(release)).toBe(STATE_REGIONS * region);
    expect(() => instanceCow(createStateDisk(release), release, 1)).toThrow(RangeError);
    expect(() => instanceCow(createStateDisk(release), release, STATE_REGIONS + 1)).toThrow(RangeError);
  });

  it("gives a new disk a fresh COW header over the backing image in every region", () => {
    const disk = createStateDisk(release);
    const regions = [mainCow(disk, release), ...[2, 3, 4].map((n) => instanceCow(disk, release, n))];
    for (const [i, cow] of regions.entries()) {
      const h = header(cow);
      expect(h.backingFile, `region ${i}`).toBe(`/images/${release.file}`);
      expect(h.size).toBe(release.size);
      expect(h.mtime).toBe(release.mtime);
      // The bitmap is empty: nothing is copied yet.
      expect(cow.read(h.layout.bitmapOffset, h.layout.bitmapLength).every((b) => b === 0)).toBe(true);
    }
    // Only the headers' blocks are stored: the regions cost nothing until an instance writes.
    expect(disk.storedBlocks.size).toBe(STATE_REGIONS);
  });

  it("keeps what an instance wrote when the disk is loaded again from its stored blocks", () => {
    const disk = createStateDisk(release);
    const three = instanceCow(disk, release, 3);
    const { dataOffset } = header(three).layout;
    three.write(dataOffset + 4096, new TextEncoder().encode("written by uml3"));
    const again = createStateDisk(release, { stored: disk.storedBlocks });
    expect(new TextDecoder().decode(instanceCow(again, release, 3).read(dataOffset + 4096, 15))).toBe("written by uml3");
    // Region 2 is untouched by it, and the main COW (what Export reads) ends before the instances' regions.
    expect(instanceCow(again, release, 2).read(dataOffset + 4096, 15).every((b) => b === 0)).toBe(true);
  });

  it("gives instance regions headers on a disk stored before they existed, leaving the main COW alone", async () => {
    // The old layout: only the main COW, with a written block.
    const old = new PersistentOverlay(new ZeroBlockStore(cowRegionSize(release)), { blockSize: STATE_BLOCK_SIZE });
    const fresh = createStateDisk(release);
    old.write(0, fresh.read(0, COW_HEADER_SIZE));
    old.write(3 * STATE_BLOCK_SIZE, new Uint8Array([7, 7, 7]));
    const disk = createStateDisk(release, { stored: old.storedBlocks });
    expect([...disk.read(3 * STATE_BLOCK_SIZE, 3)]).toEqual([7, 7, 7]);
    for (const n of [2, 3, 4]) expect(header(instanceCow(disk, release, n)).backingFile).toBe(`/images/${release.file}`);
    // Export still reads exactly the main COW file.
    let exported = 0;
    for await (const chunk of readCowFile(disk)) exported += chunk.length;
    expect(exported).toBe(cowLayout(release.size).totalLength);
  });

  it("starts an instance region afresh when its COW names another backing image (after a merge)", () => {
    const before = createStateDisk(release);
    const two = instanceCow(before, release, 2);
    const { bitmapOffset, dataOffset } = header(two).layout;
    two.write(bitmapOffset, new Uint8Array([1]));
    two.write(dataOffset, new Uint8Array([9]));
    // The instance's header still names the release image, which the merge renamed: UML would refuse it.
    const after = createStateDisk(merged, { stored: before.storedBlocks });
    expect(header(instanceCow(after, merged, 2)).backingFile).toBe(`/images/${merged.file}`);
    expect(header(instanceCow(after, merged, 2)).mtime).toBe(merged.mtime);
    // Its sector 0 is the backing image's again, not what the old COW held.
    expect(instanceCow(after, merged, 2).read(bitmapOffset, 1)[0]).toBe(0);
  });
});
