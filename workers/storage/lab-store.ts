// Where a lab's disk overlay and saved sessions live: one IndexedDB object store, through idb-keyval.
// Keys are arrays, so one lab's records form a key range that a single transaction can read or drop:
//   ["overlay", lab, "meta"]            OverlayMeta
//   ["overlay", lab, "release"]         the ImageManifest the overlay was made with
//   ["overlay", lab, "block", index]    Uint8Array, one overlay block of the state disk (the COW file)
//   ["overlay", lab, "root", index]     Uint8Array, one 4 KiB block of the rootfs disk changed by merges
//   ["session", lab, id, "meta"]        SessionMeta
//   ["session", lab, id, "state"]       Uint8Array, the gzip-compressed v86 state
import { createStore, promisifyRequest, type UseStore } from "idb-keyval";
import type { OverlayBackend, OverlayCommit } from "../disk/persistent-overlay.ts";
import type { ImageManifest, KernelFlavour } from "../core/manifest.ts";
import type { BackingFile } from "../core/state-disk.ts";

export interface OverlayMeta {
  /** New for every fresh, reset or imported disk: sessions name the disk they were taken with by it. */
  id: string;
  lab: string;
  /** sha256 of the backing image (the release's rootfs) the COW refers to. */
  backingSha256: string;
  blockSize: number;
  byteLength: number;
  /** Commits so far; with `id`, names the exact disk content. */
  generation: number;
  bytes: number;
  createdAt: number;
  updatedAt: number;
  /** Set while the disk is exactly what a pristine snapshot restore left: restoring it again is safe. */
  pristine?: { snapshotSha256: string; kernel: KernelFlavour; generation: number };
  /** After a merge: the lab's private backing file the COW names (absent: the release's root image). */
  backing?: MergedBacking;
}

export interface MergedBacking extends BackingFile {
  merges: number;
  mergedAt: number;
}

export interface SessionMeta {
  id: string;
  lab: string;
  savedAt: number;
  kind: "manual" | "auto";
  kernel: KernelFlavour;
  bytes: number;
  /** The disk the state was taken with (its blocks are inside the state too). */
  overlayId: string;
  generation: number;
  backingSha256: string;
  /** The backing file the COW named when the state was saved (absent: the release's root image). */
  backingFile?: string;
  hostMemoryMiB: number;
  /** The state disk's size when saved; a session from before its layout changed lacks it. */
  diskBytes?: number;
  screens?: Partial<Record<"uml" | "host", string>>;
  /** The network stack's leases when saved (see ManifestSnapshot.leases); absent with v86's fetch backend. */
  leases?: Array<{ mac: string; ip: string }>;
}

export interface StoredOverlay {
  meta: OverlayMeta;
  blocks: Map<number, Uint8Array>;
  /** The rootfs disk's blocks that merges changed. */
  rootBlocks: Map<number, Uint8Array>;
}

type Key = (string | number)[];
const overlayKey = (lab: string, ...rest: (string | number)[]): Key => ["overlay", lab, ...rest];
const sessionKey = (lab: string, ...rest: (string | number)[]): Key => ["session", lab, ...rest];
/** Every key that starts with `prefix`: arrays sort after numbers and strings, so [...prefix, []] bounds them. */
const prefixRange = (prefix: Key): IDBKeyRange => IDBKeyRange.bound(prefix, [...prefix, []]);

export class LabStore {
  private readonly store: UseStore;

  constructor(dbName = "umlab") {
    this.store = createStore(dbName, "kv");
  }

  async loadOverlay(lab: string): Promise<StoredOverlay | undefined> {
    return this.store("readonly", async (s) => {
      const meta = await promisifyRequest<OverlayMeta | undefined>(s.get(overlayKey(lab, "meta")));
      if (!meta) return undefined;
      const [blocks, rootBlocks] = await Promise.all([readBlocks(s, overlayKey(lab, "block")), readBlocks(s, overlayKey(lab, "root"))]);
      return { meta, blocks, rootBlocks };
    });
  }

  async overlayMeta(lab: string): Promise<OverlayMeta | undefined> {
    return this.store("readonly", (s) => promisifyRequest<OverlayMeta | undefined>(s.get(overlayKey(lab, "meta"))));
  }

  async overlayRelease(lab: string): Promise<ImageManifest | undefined> {
    return this.store("readonly", (s) => promisifyRequest<ImageManifest | undefined>(s.get(overlayKey(lab, "release"))));
  }

  /**
   * Writes a whole disk in one transaction, replacing whatever the lab had: a fresh disk or an import
   * (no root blocks), or a merge (the merged rootfs disk and a fresh COW, which only make sense together).
   */
  async replaceOverlay(meta: OverlayMeta, release: ImageManifest, blocks: ReadonlyMap<number, Uint8Array>, rootBlocks: ReadonlyMap<number, Uint8Array> = new Map()): Promise<void> {
    await this.store("readwrite", (s) => {
      s.delete(prefixRange(overlayKey(meta.lab)));
      s.put(meta, overlayKey(meta.lab, "meta"));
      s.put(release, overlayKey(meta.lab, "release"));
      for (const [index, block] of blocks) s.put(block, overlayKey(meta.lab, "block", index));
      for (const [index, block] of rootBlocks) s.put(block, overlayKey(meta.lab, "root", index));
      return promisifyRequest(s.transaction);
    });
  }

  /** The overlay's backend for PersistentOverlay: each commit updates blocks and meta in one transaction. */
  backend(meta: OverlayMeta, onCommitted?: (meta: OverlayMeta) => void): OverlayBackend {
    let current = meta;
    return {
      commit: async (commit: OverlayCommit) => {
        const next: OverlayMeta = { ...current, generation: commit.generation, bytes: commit.bytes, updatedAt: Date.now() };
        // A disk that changed is no longer the snapshot's, unless this commit is what wrote the snapshot's blocks.
        if (next.pristine && next.pristine.generation !== commit.generation) delete next.pristine;
        await this.store("readwrite", (s) => {
          for (const [index, block] of commit.blocks) {
            if (block) s.put(block, overlayKey(meta.lab, "block", index));
            else s.delete(overlayKey(meta.lab, "block", index));
          }
          s.put(next, overlayKey(meta.lab, "meta"));
          return promisifyRequest(s.transaction);
        });
        current = next;
        onCommitted?.(next);
      },
    };
  }

  async updateOverlayMeta(lab: string, update: (meta: OverlayMeta) => OverlayMeta): Promise<OverlayMeta | undefined> {
    return this.store("readwrite", async (s) => {
      const meta = await promisifyRequest<OverlayMeta | undefined>(s.get(overlayKey(lab, "meta")));
      if (!meta) return undefined;
      const next = update(meta);
      s.put(next, overlayKey(lab, "meta"));
      await promisifyRequest(s.transaction);
      return next;
    });
  }

  /** Drops the lab's disk and its sessions in one transaction. */
  async resetLab(lab: string): Promise<void> {
    await this.store("readwrite", (s) => {
      s.delete(prefixRange(overlayKey(lab)));
      s.delete(prefixRange(sessionKey(lab)));
      return promisifyRequest(s.transaction);
    });
  }

  async saveSession(meta: SessionMeta, state: Uint8Array, keep: number): Promise<void> {
    const older = (await this.listSessions(meta.lab)).filter((s) => s.id !== meta.id);
    // The newest `keep` sessions stay, counting this one; one autosave replaces the previous autosave.
    const drop = [...(meta.kind === "auto" ? older.filter((s) => s.kind === "auto") : []), ...older.slice(Math.max(0, keep - 1))];
    await this.store("readwrite", (s) => {
      for (const old of new Set(drop)) s.delete(prefixRange(sessionKey(old.lab, old.id)));
      s.put(meta, sessionKey(meta.lab, meta.id, "meta"));
      s.put(state, sessionKey(meta.lab, meta.id, "state"));
      return promisifyRequest(s.transaction);
    });
  }

  /** The lab's sessions, newest first. */
  async listSessions(lab: string): Promise<SessionMeta[]> {
    const all = await this.store("readonly", (s) => promisifyRequest<unknown[]>(s.getAll(prefixRange(sessionKey(lab)))));
    return all.filter(isSessionMeta).sort((a, b) => b.savedAt - a.savedAt);
  }

  async findSession(id: string): Promise<SessionMeta | undefined> {
    const all = await this.store("readonly", (s) => promisifyRequest<unknown[]>(s.getAll(prefixRange(["session"]))));
    return all.filter(isSessionMeta).find((m) => m.id === id);
  }

  async sessionState(meta: SessionMeta): Promise<Uint8Array | undefined> {
    return this.store("readonly", (s) => promisifyRequest<Uint8Array | undefined>(s.get(sessionKey(meta.lab, meta.id, "state"))));
  }

  async deleteSession(id: string): Promise<void> {
    const meta = await this.findSession(id);
    if (!meta) return;
    await this.store("readwrite", (s) => {
      s.delete(prefixRange(sessionKey(meta.lab, meta.id)));
      return promisifyRequest(s.transaction);
    });
  }
}

async function readBlocks(s: IDBObjectStore, prefix: Key): Promise<Map<number, Uint8Array>> {
  const range = prefixRange(prefix);
  const [keys, values] = await Promise.all([promisifyRequest(s.getAllKeys(range)), promisifyRequest<Uint8Array[]>(s.getAll(range))]);
  const blocks = new Map<number, Uint8Array>();
  keys.forEach((key, i) => {
    const index = (key as Key)[3];
    const value = values[i];
    if (typeof index === "number" && value) blocks.set(index, value);
  });
  return blocks;
}

function isSessionMeta(value: unknown): value is SessionMeta {
  return typeof value === "object" && value !== null && "overlayId" in value && "savedAt" in value;
}
