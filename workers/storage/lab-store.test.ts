// LabStore against fake-indexeddb: the same idb-keyval calls and transactions the worker makes.
import "fake-indexeddb/auto";
import { describe, expect, it } from "vitest";
import { ZeroBlockStore } from "../disk/block-store.ts";
import { PersistentOverlay } from "../disk/persistent-overlay.ts";
import type { ImageManifest } from "../core/manifest.ts";
import { LabStore, type OverlayMeta, type SessionMeta } from "./lab-store.ts";

const BLOCK = 4096;
const release = { manifestVersion: 1, builtAt: "2026-01-01T00:00:00Z" } as unknown as ImageManifest;
let dbCount = 0;

function meta(lab: string): OverlayMeta {
  return { id: `id-${lab}`, lab, backingSha256: "a".repeat(64), blockSize: BLOCK, byteLength: BLOCK * 64, generation: 0, bytes: 0, createdAt: 1, updatedAt: 1 };
}

function session(lab: string, id: string, savedAt: number, kind: "manual" | "auto"): SessionMeta {
  return { id, lab, savedAt, kind, kernel: "lean", bytes: 3, overlayId: `id-${lab}`, generation: 1, backingSha256: "a".repeat(64), hostMemoryMiB: 256 };
}

describe("LabStore", () => {
  it("persists an overlay's commits and loads them back, per lab", async () => {
    const store = new LabStore(`test-${++dbCount}`);
    const m = meta("one");
    await store.replaceOverlay(m, release, new Map());
    const disk = new PersistentOverlay(new ZeroBlockStore(BLOCK * 64), { blockSize: BLOCK, backend: store.backend(m) });
    disk.write(BLOCK * 7 + 1, new Uint8Array([42]));
    disk.write(BLOCK * 9, new Uint8Array([43]));
    await disk.flush();
    await store.replaceOverlay(meta("two"), release, new Map([[0, new Uint8Array(BLOCK).fill(1)]]));

    const loaded = await store.loadOverlay("one");
    expect(loaded?.meta.generation).toBe(1);
    expect(loaded?.meta.bytes).toBe(2 * BLOCK);
    expect([...(loaded?.blocks.keys() ?? [])].sort()).toEqual([7, 9]);
    expect(loaded?.blocks.get(7)?.[1]).toBe(42);
    expect((await store.loadOverlay("two"))?.blocks.size).toBe(1);
    expect(await store.overlayRelease("one")).toEqual(release);

    // A reopened disk continues where the stored one stopped.
    if (!loaded) throw new Error("the overlay did not load");
    const again = new PersistentOverlay(new ZeroBlockStore(BLOCK * 64), { blockSize: BLOCK, stored: loaded.blocks, generation: 1, backend: store.backend(loaded.meta) });
    expect(again.read(BLOCK * 7 + 1, 1)).toEqual(new Uint8Array([42]));
    again.write(BLOCK * 7 + 1, new Uint8Array([0]));
    await again.flush();
    expect([...((await store.loadOverlay("one"))?.blocks.keys() ?? [])]).toEqual([9]);
  });

  it("drops the pristine marker at the first commit after the snapshot's", async () => {
    const store = new LabStore(`test-${++dbCount}`);
    const m: OverlayMeta = { ...meta("p"), pristine: { snapshotSha256: "s", kernel: "lean", generation: 1 } };
    await store.replaceOverlay(m, release, new Map());
    const disk = new PersistentOverlay(new ZeroBlockStore(BLOCK * 8), { blockSize: BLOCK, backend: store.backend(m) });
    disk.write(0, new Uint8Array([1]));
    await disk.flush();
    expect((await store.overlayMeta("p"))?.pristine?.generation).toBe(1);
    disk.write(BLOCK, new Uint8Array([1]));
    await disk.flush();
    expect((await store.overlayMeta("p"))?.pristine).toBeUndefined();
  });

  it("keeps the newest sessions, one autosave at a time, and resets a lab in one go", async () => {
    const store = new LabStore(`test-${++dbCount}`);
    await store.replaceOverlay(meta("s"), release, new Map([[0, new Uint8Array(BLOCK).fill(2)]]));
    await store.saveSession(session("s", "m1", 1, "manual"), new Uint8Array([1]), 3);
    await store.saveSession(session("s", "a1", 2, "auto"), new Uint8Array([2]), 3);
    await store.saveSession(session("s", "a2", 3, "auto"), new Uint8Array([3]), 3);
    expect((await store.listSessions("s")).map((s) => s.id)).toEqual(["a2", "m1"]);
    await store.saveSession(session("s", "m2", 4, "manual"), new Uint8Array([4]), 3);
    await store.saveSession(session("s", "m3", 5, "manual"), new Uint8Array([5]), 3);
    expect((await store.listSessions("s")).map((s) => s.id)).toEqual(["m3", "m2", "a2"]);
    const found = await store.findSession("m2");
    expect(found && (await store.sessionState(found))).toEqual(new Uint8Array([4]));
    await store.deleteSession("m2");
    expect((await store.listSessions("s")).map((s) => s.id)).toEqual(["m3", "a2"]);

    await store.saveSession(session("other", "o1", 1, "manual"), new Uint8Array([9]), 3);
    await store.resetLab("s");
    expect(await store.loadOverlay("s")).toBeUndefined();
    expect(await store.listSessions("s")).toEqual([]);
    expect((await store.listSessions("other")).map((s) => s.id)).toEqual(["o1"]);
  });

  it("replaces a merged disk's root blocks and COW together, and an import drops the root blocks", async () => {
    const store = new LabStore(`test-${++dbCount}`);
    await store.replaceOverlay(meta("m"), release, new Map([[3, new Uint8Array(BLOCK).fill(3)]]));
    const merged: OverlayMeta = { ...meta("m"), id: "merged", backing: { file: "private-1.img", size: BLOCK * 64, mtime: 5, merges: 1, mergedAt: 5 } };
    await store.replaceOverlay(merged, release, new Map([[0, new Uint8Array(BLOCK).fill(1)]]), new Map([[9, new Uint8Array(BLOCK).fill(9)]]));
    const loaded = await store.loadOverlay("m");
    expect(loaded?.meta.backing?.file).toBe("private-1.img");
    expect([...(loaded?.blocks.keys() ?? [])]).toEqual([0]);
    expect([...(loaded?.rootBlocks.keys() ?? [])]).toEqual([9]);
    await store.replaceOverlay(meta("m"), release, new Map());
    expect((await store.loadOverlay("m"))?.rootBlocks.size).toBe(0);
  });
});
