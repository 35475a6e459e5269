// Adapts a BlockStore to the buffer object v86 accepts for a disk (an object with get/set/load).
// The store is synchronous, so every read answers at once and there is nothing to cache.
import type { BlockStore } from "./block-store.ts";
import { OverlayBlockStore } from "./block-store.ts";

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
 * Serves a disk from a BlockStore. Saved states hold only the written blocks,
 * not the whole disk as v86's own SyncBuffer does.
 */
export class V86Disk implements V86DiskBuffer {
  readonly byteLength: number;
  onload: V86DiskBuffer["onload"] = undefined;
  onprogress: V86DiskBuffer["onprogress"] = undefined;
  readonly store: OverlayBlockStore;

  constructor(base: BlockStore) {
    this.store = new OverlayBlockStore(base);
    this.byteLength = base.byteLength;
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
    fn();
  }

  get_state(): unknown[] {
    const blocks: [number, Uint8Array][] = [...this.store.dirtyBlocks.entries()];
    return [this.byteLength, blocks];
  }

  set_state(state: unknown[]): void {
    const blocks = state[1];
    if (!Array.isArray(blocks)) return;
    for (const entry of blocks as [number, Uint8Array][]) {
      this.store.write(entry[0] * this.store.blockSize, entry[1]);
    }
  }
}
