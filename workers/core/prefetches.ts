// Downloads started before a boot asked for them (the worker's head start while the page builds its UI).
// The first reader of the same key takes the download over, with the bytes so far reported, so the boot
// neither waits for its own request nor fetches twice.

type Fetcher = (onProgress: (loaded: number) => void) => Promise<Uint8Array>;

interface Entry {
  bytes: Promise<Uint8Array>;
  progress: { loaded: number };
  listeners: Set<(loaded: number) => void>;
  expiry: ReturnType<typeof setTimeout>;
}

export class Prefetches {
  private readonly entries = new Map<string, Entry>();

  /** @param keepMs how long an untaken download is kept for a reader; after that it is dropped */
  constructor(private readonly keepMs = 30_000) {}

  /** Starts fetching `key` unless it is already waiting for a reader. */
  start(key: string, fetcher: Fetcher): void {
    if (this.entries.has(key)) return;
    const progress = { loaded: 0 };
    const listeners = new Set<(loaded: number) => void>();
    const bytes = fetcher((loaded) => {
      progress.loaded = loaded;
      for (const listener of listeners) listener(loaded);
    });
    // A failure is the reader's to see; untaken, it is nobody's.
    bytes.catch(() => undefined);
    const expiry = setTimeout(() => {
      if (this.entries.get(key)?.bytes === bytes) this.entries.delete(key);
    }, this.keepMs);
    this.entries.set(key, { bytes, progress, listeners, expiry });
  }

  /** The download of `key` if one is waiting: the caller now owns it, and hears its progress from here on. */
  take(key: string, onProgress: (loaded: number) => void): Promise<Uint8Array> | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    clearTimeout(entry.expiry);
    entry.listeners.add(onProgress);
    if (entry.progress.loaded > 0) onProgress(entry.progress.loaded);
    return entry.bytes;
  }

  get size(): number {
    return this.entries.size;
  }
}
