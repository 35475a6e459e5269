// A disk whose written blocks are committed to durable storage in batches ("group commit").
// Pure core: where the blocks go is behind OverlayBackend (IndexedDB in the worker, a map in tests).
import { checkRange, forEachBlock, type BlockStore } from "./block-store.ts";

/** One commit: blocks to store (null = back to the base's content, so delete it). Must be atomic. */
export interface OverlayCommit {
  blocks: ReadonlyMap<number, Uint8Array | null>;
  generation: number;
  /** Bytes of stored blocks after this commit. */
  bytes: number;
}

export interface OverlayBackend {
  /** Applies every change of the commit in one transaction: all of it lands, or none. */
  commit(commit: OverlayCommit): Promise<void>;
}

export type OverlayMode = "persistent" | "memory" | "ephemeral";

export interface OverlayStatus {
  /**
   * "persistent": written blocks reach the backend; "memory": they stay in memory because storage failed
   * (see error); "ephemeral": nothing is ever persisted (chosen, e.g. a read-only second tab).
   */
  mode: OverlayMode;
  /** Why the disk is not persistent, in words for the user. */
  error?: string;
  /** Bytes of blocks the overlay holds (what the backend stores for it). */
  bytes: number;
  /** Blocks written but not yet committed. */
  pending: number;
  /** Commits so far; each is one backend transaction. */
  generation: number;
  /** Time (ms since epoch) and duration of the last commit. */
  lastCommitAt?: number;
  lastCommitMs?: number;
}

export interface PersistentOverlayOptions {
  blockSize?: number;
  /** Blocks already stored (loaded from the backend), by index. */
  stored?: ReadonlyMap<number, Uint8Array>;
  generation?: number;
  backend?: OverlayBackend;
  mode?: OverlayMode;
  /** Called after each commit and on every mode change. */
  onStatus?: (status: OverlayStatus) => void;
  now?: () => number;
}

/**
 * Reads fall through to `base`; written blocks live in memory and are committed to the backend.
 * A write's completion (`afterCommit`) waits for the commit that holds it, so when the guest sees a
 * write finish (and `sync` return), it is in storage. Writes made while a commit runs join the next one.
 */
export class PersistentOverlay implements BlockStore {
  readonly byteLength: number;
  readonly blockSize: number;
  private readonly blocks = new Map<number, Uint8Array>();
  /** Blocks written since the last commit began. */
  private readonly changed = new Set<number>();
  /** Completions waiting for the next commit. */
  private waiting: (() => void)[] = [];
  private committing: Promise<void> | undefined;
  private scheduled = false;
  private statusValue: OverlayStatus;
  private readonly zero: Uint8Array;
  private backend: OverlayBackend | undefined;

  constructor(
    private readonly base: BlockStore,
    private readonly options: PersistentOverlayOptions = {},
  ) {
    this.byteLength = base.byteLength;
    this.blockSize = options.blockSize ?? 65536;
    this.zero = new Uint8Array(this.blockSize);
    for (const [index, block] of options.stored ?? []) {
      if (block.length !== this.blockSize) throw new Error(`stored block ${index} has ${block.length} bytes, expected ${this.blockSize}`);
      this.blocks.set(index, block);
    }
    this.backend = options.backend;
    const mode = options.backend ? (options.mode ?? "persistent") : (options.mode ?? "ephemeral");
    this.statusValue = { mode, bytes: this.blocks.size * this.blockSize, pending: 0, generation: options.generation ?? 0 };
  }

  get status(): OverlayStatus {
    return { ...this.statusValue, pending: this.changed.size };
  }

  /** The blocks that differ from the base, by index (what a saved state or an export holds). */
  get storedBlocks(): ReadonlyMap<number, Uint8Array> {
    return this.blocks;
  }

  read(offset: number, length: number): Uint8Array {
    checkRange(this, offset, length);
    if (this.blocks.size === 0) return this.base.read(offset, length);
    const out = new Uint8Array(length);
    forEachBlock(offset, length, this.blockSize, (index, inBlock, pos, n) => {
      const block = this.blocks.get(index);
      out.set(block ? block.subarray(inBlock, inBlock + n) : this.base.read(index * this.blockSize + inBlock, n), pos);
    });
    return out;
  }

  write(offset: number, data: Uint8Array): void {
    checkRange(this, offset, data.length);
    forEachBlock(offset, data.length, this.blockSize, (index, inBlock, pos, n) => {
      let block = this.blocks.get(index);
      if (!block) {
        block = this.baseBlock(index);
        this.blocks.set(index, block);
      }
      block.set(data.subarray(pos, pos + n), inBlock);
      this.changed.add(index);
    });
  }

  /** Runs `done` once everything written so far is in storage (at once when nothing is persisted). */
  afterCommit(done: () => void): void {
    if (this.statusValue.mode !== "persistent") {
      done();
      return;
    }
    this.waiting.push(done);
    this.schedule();
  }

  /** Commits everything written so far; resolves when it is stored (or persistence has been given up). */
  flush(): Promise<void> {
    return new Promise((resolve) => this.afterCommit(resolve));
  }

  /**
   * Replaces the whole content with `blocks` (a restored state's disk). Only blocks that differ count as
   * changes, so restoring a state onto the disk it was saved with commits nothing.
   */
  replaceAll(blocks: ReadonlyMap<number, Uint8Array>): void {
    const next = new Map<number, Uint8Array>();
    for (const [index, block] of blocks) {
      const copy = this.baseBlock(index);
      copy.set(block.subarray(0, this.blockSize));
      // A block equal to the base is no block at all, as commits store it.
      if (!this.sameAsBase(index, copy)) next.set(index, copy);
    }
    for (const [index, old] of this.blocks) {
      const replacement = next.get(index);
      if (!replacement || !sameBytes(old, replacement)) this.changed.add(index);
    }
    for (const [index, block] of next) {
      const old = this.blocks.get(index);
      if (!old || !sameBytes(old, block)) this.changed.add(index);
    }
    this.blocks.clear();
    for (const [index, block] of next) this.blocks.set(index, block);
  }

  /**
   * Takes `blocks` as the content that storage now holds, written there by one transaction of the caller's
   * (a merge), and commits to `backend` from then on. Nothing may be pending.
   */
  rebase(blocks: ReadonlyMap<number, Uint8Array>, backend: OverlayBackend, generation: number): void {
    if (this.changed.size > 0 || this.committing) throw new Error("cannot rebase a disk with writes in flight");
    this.blocks.clear();
    for (const [index, block] of blocks) this.blocks.set(index, block.slice());
    this.backend = backend;
    this.statusValue = { ...this.statusValue, bytes: this.blocks.size * this.blockSize, generation };
    this.setMode("persistent");
  }

  /**
   * Starts committing to `backend`: a disk made before the page settled who writes the lab (a machine
   * prepared ahead of its boot call). Whatever was written before goes into the next commit.
   */
  attach(backend: OverlayBackend): void {
    if (this.committing) throw new Error("cannot attach a backend while a commit runs");
    this.backend = backend;
    this.setMode("persistent");
  }

  /** Stops persisting (e.g. the page made this tab read-only); what is stored stays as it is. */
  detach(mode: "memory" | "ephemeral", error?: string): void {
    this.setMode(mode, error);
    this.releaseWaiting();
  }

  private baseBlock(index: number): Uint8Array {
    const block = new Uint8Array(this.blockSize);
    const start = index * this.blockSize;
    block.set(this.base.read(start, Math.min(this.blockSize, this.byteLength - start)));
    return block;
  }

  private schedule(): void {
    if (this.scheduled || this.committing) return;
    this.scheduled = true;
    // One macrotask of grace gathers the writes of a burst (the guest queues several DMA writes per tick).
    setTimeout(() => {
      this.scheduled = false;
      this.committing = this.commitNow().finally(() => {
        this.committing = undefined;
        if (this.waiting.length > 0) this.schedule();
      });
    }, 0);
  }

  private async commitNow(): Promise<void> {
    const backend = this.backend;
    const done = this.waiting;
    this.waiting = [];
    if (!backend || this.statusValue.mode !== "persistent") {
      for (const fn of done) fn();
      return;
    }
    const changes = new Map<number, Uint8Array | null>();
    for (const index of this.changed) {
      const block = this.blocks.get(index);
      // A block back to the base's bytes (zeroed, or the base restored) needs no storage: delete it.
      if (!block || this.sameAsBase(index, block)) {
        this.blocks.delete(index);
        changes.set(index, null);
      } else {
        changes.set(index, block.slice());
      }
    }
    this.changed.clear();
    const generation = this.statusValue.generation + 1;
    const bytes = this.blocks.size * this.blockSize;
    const now = this.options.now ?? Date.now;
    const started = now();
    try {
      if (changes.size > 0) await backend.commit({ blocks: changes, generation, bytes });
      const at = now();
      this.statusValue = { ...this.statusValue, bytes, generation: changes.size > 0 ? generation : this.statusValue.generation, lastCommitAt: at, lastCommitMs: at - started };
      this.emit();
    } catch (err) {
      // The transaction aborted, so storage still holds the previous commit, intact. Keep going in memory.
      for (const index of changes.keys()) this.changed.add(index);
      this.setMode("memory", storageErrorText(err));
    }
    for (const fn of done) fn();
  }

  private sameAsBase(index: number, block: Uint8Array): boolean {
    const start = index * this.blockSize;
    const base = this.base.read(start, Math.min(this.blockSize, this.byteLength - start));
    return isZero(base) ? isZero(block) : sameBytes(base, block);
  }

  private releaseWaiting(): void {
    const done = this.waiting;
    this.waiting = [];
    for (const fn of done) fn();
  }

  private setMode(mode: OverlayMode, error?: string): void {
    this.statusValue = error === undefined ? { ...this.statusValue, mode, error: undefined } : { ...this.statusValue, mode, error };
    if (error === undefined) delete this.statusValue.error;
    this.emit();
  }

  private emit(): void {
    this.options.onStatus?.(this.status);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Tells whether bytes are all zero, a word at a time where alignment allows. */
export function isZero(bytes: Uint8Array): boolean {
  const words = bytes.byteOffset % 4 === 0 && bytes.length % 4 === 0 ? new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4) : bytes;
  for (let i = 0; i < words.length; i++) if (words[i] !== 0) return false;
  return true;
}

/** Storage failures in words for the user: quota, private mode, or whatever the browser said. */
export function storageErrorText(err: unknown): string {
  const name = err instanceof Error || (typeof err === "object" && err !== null && "name" in err) ? String((err as { name: unknown }).name) : "";
  const message = err instanceof Error ? err.message : String(err);
  if (name === "QuotaExceededError" || /quota/i.test(message)) return "the browser's storage quota for this site is full";
  if (name === "InvalidStateError" || name === "UnknownError") return `the browser's storage is unavailable (${message})`;
  return `saving to the browser's storage failed: ${message}`;
}
