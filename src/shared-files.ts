// The lab's shared directory (the host's /lab, UML's hostfs root): paths, names, and the listing's rows.
import type { SharedEntry } from "../workers/api.ts";

/** The folder the files panel shows and fills. */
export const SHARE_ROOT = "/share";
/** Where "Add disk…" puts disk images; the host sees them under /lab. */
export const DISKS_ROOT = "/disks";
export const KERNELS_ROOT = "/kernels";
/** The host path of the share's root: UML runs with hostfs=/lab. */
export const HOST_ROOT = "/lab";
/** The classic way to see the share inside UML. */
export const MOUNT_COMMAND = "mount none /mnt/host -t hostfs -o /share";

/**
 * A name safe on every command line it may reach (mconsole's `config ubdN=…`, kernel names): letters,
 * digits, dot, dash and underscore; anything else becomes "_", and no leading dot.
 */
export function safeFileName(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? "";
  const cleaned = base.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^\.+/, "").slice(0, 100);
  return cleaned === "" ? "file" : cleaned;
}

/** One path segment of a file the user gave: kept as typed (spaces too), without separators or control bytes. */
function cleanSegment(segment: string): string | undefined {
  // eslint-disable-next-line no-control-regex -- control bytes are exactly what is being removed
  const s = segment.replace(/[\u0000-\u001f\u007f]/g, "").trim();
  return s === "" || s === "." || s === ".." ? undefined : s;
}

/** "/share/<relative>" for a file from a picker or a drop; undefined when no usable name remains. */
export function sharePath(relative: string, root = SHARE_ROOT): string | undefined {
  const segments = relative.split(/[\\/]+/).map(cleanSegment).filter((s): s is string => s !== undefined);
  return segments.length === 0 ? undefined : `${root}/${segments.join("/")}`;
}

export function baseName(path: string): string {
  return path.split("/").filter(Boolean).pop() ?? path;
}

export interface ShareRow {
  path: string;
  /** The last segment. */
  name: string;
  /** Folders between the root and the entry: 0 for /share/a.txt. */
  depth: number;
  kind: SharedEntry["kind"];
  size: number;
  mtime: number;
}

function segments(path: string): string[] {
  return path.split("/").filter(Boolean);
}

/** Entries under `root` as an outline: each folder followed by its contents, names in code-point order. */
export function shareRows(entries: readonly SharedEntry[], root = SHARE_ROOT): ShareRow[] {
  const prefix = `${root}/`;
  const depthOf = segments(root).length;
  return entries
    .filter((e) => e.path.startsWith(prefix) && e.path.length > prefix.length)
    .map((e) => ({ ...e, segs: segments(e.path) }))
    .sort((a, b) => {
      const n = Math.min(a.segs.length, b.segs.length);
      for (let i = 0; i < n; i++) {
        const x = a.segs[i] ?? "";
        const y = b.segs[i] ?? "";
        if (x !== y) return x < y ? -1 : 1;
      }
      return a.segs.length - b.segs.length;
    })
    .map((e) => ({ path: e.path, name: e.segs.at(-1) ?? e.path, depth: e.segs.length - depthOf - 1, kind: e.kind, size: e.size, mtime: e.mtime }));
}

/** Names of the kernels the worker keeps in /kernels (to boot as "upload:<name>"). */
export function storedKernels(entries: readonly SharedEntry[]): string[] {
  const prefix = `${KERNELS_ROOT}/`;
  return entries
    .filter((e) => e.kind === "file" && e.path.startsWith(prefix) && !e.path.slice(prefix.length).includes("/"))
    .map((e) => e.path.slice(prefix.length))
    .sort();
}

/** Sum of the file sizes, e.g. for "12 files, 3.1 MiB". */
export function totalBytes(rows: readonly { kind: SharedEntry["kind"]; size: number }[]): number {
  return rows.reduce((sum, r) => sum + (r.kind === "file" ? r.size : 0), 0);
}
