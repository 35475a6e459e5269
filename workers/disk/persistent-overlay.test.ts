import { describe, expect, it } from "vitest";
import { ZeroBlockStore } from "./block-store.ts";
import { PersistentOverlay, type OverlayBackend, type OverlayCommit, type OverlayStatus } from "./persistent-overlay.ts";

const BLOCK = 4096;

/** A backend that keeps commits in a map and lets the test decide when each one finishes. */
class ManualBackend implements OverlayBackend {
  readonly stored = new Map<number, Uint8Array>();
  readonly commits: OverlayCommit[] = [];
  private release: (() => void)[] = [];
  fail: Error | undefined;

  commit(commit: OverlayCommit): Promise<void> {
    this.commits.push(commit);
    return new Promise((resolve, reject) => {
      this.release.push(() => {
        if (this.fail) return reject(this.fail);
        for (const [i, b] of commit.blocks) {
          if (b) this.stored.set(i, b);
          else this.stored.delete(i);
        }
        resolve();
      });
    });
  }

  finishAll(): void {
    const r = this.release;
    this.release = [];
    for (const fn of r) fn();
  }
}

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

/** Lets commits run and finishes each one, until `done` holds. */
async function drive(backend: ManualBackend, done: () => boolean): Promise<void> {
  for (let i = 0; i < 20 && !done(); i++) {
    await tick();
    backend.finishAll();
  }
  await tick();
}

async function flushed(backend: ManualBackend, disk: PersistentOverlay): Promise<void> {
  let finished = false;
  disk.afterCommit(() => (finished = true));
  await drive(backend, () => finished);
  expect(finished).toBe(true);
}

describe("PersistentOverlay", () => {
  it("completes a write only after the commit that holds it, and batches writes made meanwhile", async () => {
    const backend = new ManualBackend();
    const disk = new PersistentOverlay(new ZeroBlockStore(BLOCK * 16), { blockSize: BLOCK, backend });
    const done: string[] = [];
    disk.write(0, new Uint8Array([1, 2, 3]));
    disk.afterCommit(() => done.push("a"));
    await tick();
    expect(backend.commits).toHaveLength(1);
    // Written while the first commit runs: waits for a second commit.
    disk.write(BLOCK * 3, new Uint8Array([9]));
    disk.afterCommit(() => done.push("b"));
    disk.write(BLOCK * 5, new Uint8Array([8]));
    disk.afterCommit(() => done.push("c"));
    expect(done).toEqual([]);
    backend.finishAll();
    await tick();
    expect(done).toEqual(["a"]);
    await tick();
    expect(backend.commits).toHaveLength(2);
    expect([...(backend.commits[1]?.blocks.keys() ?? [])].sort()).toEqual([3, 5]);
    backend.finishAll();
    await tick();
    expect(done).toEqual(["a", "b", "c"]);
    expect(disk.status).toMatchObject({ mode: "persistent", generation: 2, pending: 0, bytes: 3 * BLOCK });
    expect(backend.stored.get(0)?.subarray(0, 3)).toEqual(new Uint8Array([1, 2, 3]));
  });

  it("stores a block that went back to zero as a deletion", async () => {
    const backend = new ManualBackend();
    const disk = new PersistentOverlay(new ZeroBlockStore(BLOCK * 4), { blockSize: BLOCK, backend });
    disk.write(10, new Uint8Array([7]));
    await flushed(backend, disk);
    disk.write(10, new Uint8Array([0]));
    await flushed(backend, disk);
    expect(backend.commits[1]?.blocks.get(0)).toBeNull();
    expect(backend.stored.size).toBe(0);
    expect(disk.status.bytes).toBe(0);
  });

  it("keeps running in memory when a commit fails, leaving the stored blocks as they were", async () => {
    const backend = new ManualBackend();
    const statuses: OverlayStatus[] = [];
    const disk = new PersistentOverlay(new ZeroBlockStore(BLOCK * 4), { blockSize: BLOCK, backend, onStatus: (s) => statuses.push(s) });
    disk.write(0, new Uint8Array([1]));
    await flushed(backend, disk);
    backend.fail = Object.assign(new Error("quota"), { name: "QuotaExceededError" });
    disk.write(BLOCK, new Uint8Array([2]));
    let completed = false;
    disk.afterCommit(() => (completed = true));
    await drive(backend, () => completed);
    expect(completed).toBe(true);
    expect(disk.status.mode).toBe("memory");
    expect(disk.status.error).toMatch(/quota/);
    expect(statuses.at(-1)?.mode).toBe("memory");
    expect([...backend.stored.keys()]).toEqual([0]);
    // The guest still reads what it wrote.
    expect(disk.read(BLOCK, 1)).toEqual(new Uint8Array([2]));
    disk.write(BLOCK * 2, new Uint8Array([3]));
    let later = false;
    disk.afterCommit(() => (later = true));
    expect(later).toBe(true);
  });

  it("counts only differing blocks when a restored state replaces the content", () => {
    const stored = new Map([[1, new Uint8Array(BLOCK).fill(5)]]);
    const disk = new PersistentOverlay(new ZeroBlockStore(BLOCK * 4), { blockSize: BLOCK, stored });
    disk.replaceAll(new Map([[1, new Uint8Array(BLOCK).fill(5)], [2, new Uint8Array(BLOCK)]]));
    expect(disk.status.pending).toBe(0);
    expect([...disk.storedBlocks.keys()]).toEqual([1]);
    disk.replaceAll(new Map([[3, new Uint8Array(BLOCK).fill(1)]]));
    expect(disk.status.pending).toBe(2);
    expect(disk.read(BLOCK, 1)).toEqual(new Uint8Array([0]));
    expect(disk.read(BLOCK * 3, 1)).toEqual(new Uint8Array([1]));
  });

  it("never persists in ephemeral mode", async () => {
    const backend = new ManualBackend();
    const disk = new PersistentOverlay(new ZeroBlockStore(BLOCK * 4), { blockSize: BLOCK, backend, mode: "ephemeral" });
    disk.write(0, new Uint8Array([1]));
    await disk.flush();
    expect(backend.commits).toHaveLength(0);
  });

  it("rebases onto content stored elsewhere and commits the next writes to the new backend", async () => {
    const old = new ManualBackend();
    const disk = new PersistentOverlay(new ZeroBlockStore(BLOCK * 4), { blockSize: BLOCK, backend: old });
    disk.write(0, new Uint8Array([7]));
    await flushed(old, disk);
    const next = new ManualBackend();
    disk.rebase(new Map([[2, new Uint8Array(BLOCK).fill(2)]]), next, 1);
    expect(disk.read(0, 1)).toEqual(new Uint8Array([0]));
    expect(disk.read(BLOCK * 2, 1)).toEqual(new Uint8Array([2]));
    expect(disk.status).toMatchObject({ mode: "persistent", bytes: BLOCK, generation: 1, pending: 0 });
    disk.write(BLOCK * 3, new Uint8Array([3]));
    await flushed(next, disk);
    expect(old.commits).toHaveLength(1);
    expect(next.commits.map((c) => [...c.blocks.keys()])).toEqual([[3]]);
    expect(next.commits[0]?.generation).toBe(2);
    disk.write(0, new Uint8Array([1]));
    expect(() => disk.rebase(new Map(), next, 5)).toThrow(/in flight/);
  });

  it("attached to a backend later, commits what was written before, at the generation it started with", async () => {
    const disk = new PersistentOverlay(new ZeroBlockStore(BLOCK * 4), { blockSize: BLOCK, generation: 3 });
    disk.write(0, new Uint8Array([5]));
    await disk.flush();
    expect(disk.status).toMatchObject({ mode: "ephemeral", pending: 1, generation: 3 });
    const backend = new ManualBackend();
    disk.attach(backend);
    expect(disk.status.mode).toBe("persistent");
    disk.write(BLOCK, new Uint8Array([6]));
    await flushed(backend, disk);
    expect(backend.commits.map((c) => [...c.blocks.keys()].sort())).toEqual([[0, 1]]);
    expect(backend.commits[0]?.generation).toBe(4);
    expect(disk.status).toMatchObject({ mode: "persistent", pending: 0, generation: 4 });
  });
});
