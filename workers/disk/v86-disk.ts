// Adapts a PersistentOverlay to the buffer object v86 accepts for a disk (an object with get/set/load).
// The store is synchronous, so every read answers at once and there is nothing to cache.
import type { PersistentOverlay } from "./persistent-overlay.ts";

/** The duck type v86's starter.js checks for (`file.get && file.set && file.load`). */
export interface V86DiskBuffer {
  readonly byteLength: number;
  onload: ((e: { buffer?: ArrayBuffer }) => void) | undefined;
  onprogress: ((e: unknown) => void) | undefined;
  load(): void;
  get(start: number, len: number, fn: (data: Uint8Array) => void): void;
  /** v86 0.5.462 reads the partition table through these two before booting. */
  get_and_cache(start: number, len: number, fn: (data: Uint8Array) => void): void;
  get_from_cache(start: number, len: number): Uint8Array | undefined;
  set(start: number, data: Uint8Array, fn: () => void): void;
  get_state(): unknown[];
  set_state(state: unknown[]): void;
}

/**
 * A disk whose base content travels inside saved states: `embed` gives it to a state being saved, and
 * `restore` takes it back from a state being restored, before any of the state's blocks are compared
 * with it. The pre-booted snapshot carries its root disk this way, so what the disk and the RAM share
 * (busybox, in the host's initramfs, the root image and UML's page cache) compresses once.
 */
export interface CarriedBase {
  embed?(): Uint8Array;
  restore(bytes: Uint8Array): void;
}

/**
 * Serves a disk from a PersistentOverlay. A write completes for the guest once the overlay has stored it
 * (v86 raises the DMA interrupt from set()'s callback). Saved states hold the overlay's blocks, not the
 * whole disk as v86's own SyncBuffer does, so a state restores together with the disk it was taken with
 * (plus, with a CarriedBase that embeds, the disk's base).
 */
export class V86Disk implements V86DiskBuffer {
  readonly byteLength: number;
  onload: V86DiskBuffer["onload"] = undefined;
  onprogress: V86DiskBuffer["onprogress"] = undefined;
  /** Writes whose completion the overlay still holds back. */
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(
    readonly store: PersistentOverlay,
    private readonly carried?: CarriedBase,
  ) {
    this.byteLength = store.byteLength;
  }

  load(): void {
    this.onload?.({});
  }

  get(start: number, len: number, fn: (data: Uint8Array) => void): void {
    fn(this.store.read(start, len));
  }

  get_and_cache(start: number, len: number, fn: (data: Uint8Array) => void): void {
    fn(this.store.read(start, len));
  }

  get_from_cache(start: number, len: number): Uint8Array {
    return this.store.read(start, len);
  }

  set(start: number, data: Uint8Array, fn: () => void): void {
    this.store.write(start, data);
    this.inFlight++;
    this.store.afterCommit(() => {
      fn();
      if (--this.inFlight === 0) {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const w of waiters) w();
      }
    });
  }

  /** Resolves when no write waits for its completion: a state saved then has no half-done disk command. */
  whenIdle(): Promise<void> {
    return this.inFlight === 0 ? Promise.resolve() : new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  get_state(): unknown[] {
    const state: unknown[] = [this.byteLength, this.store.blockSize, [...this.store.storedBlocks.entries()]];
    const base = this.carried?.embed?.();
    if (base) state.push(base);
    return state;
  }

  set_state(state: unknown[]): void {
    const [byteLength, blockSize, blocks, base] = state;
    if (byteLength !== this.byteLength || blockSize !== this.store.blockSize || !Array.isArray(blocks)) {
      throw new Error(`saved disk state (${String(byteLength)} bytes in ${String(blockSize)}-byte blocks) does not fit this disk (${this.byteLength} bytes in ${this.store.blockSize}-byte blocks)`);
    }
    if (base instanceof Uint8Array) {
      if (!this.carried) throw new Error("the saved state carries a disk image this disk does not take");
      this.carried.restore(base);
    }
    this.store.replaceAll(new Map(blocks as [number, Uint8Array][]));
  }
}
