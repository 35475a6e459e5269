// The lab's shared directory: v86's in-memory 9p filesystem, which the host mounts at /lab and UML's
// hostfs is confined to. The page reads and writes it here, straight in the worker, with no guest help.

/** The part of v86's 9p filesystem (lib/filesystem.js) used here; its typings do not declare it. */
export interface V86FileSystem {
  SearchPath(path: string): { id: number; parentid: number; name: string };
  GetInode(id: number): { mode: number; size: number; mtime: number };
  IsDirectory(id: number): boolean;
  CreateDirectory(name: string, parentId: number): number;
  CreateBinaryFile(name: string, parentId: number, data: Uint8Array): Promise<number>;
  DeleteNode(path: string): void;
  read_dir(path: string): string[] | undefined;
  read_file(path: string): Promise<Uint8Array | null>;
}

export interface ShareEntry {
  path: string;
  kind: "file" | "dir";
  size: number;
  /** Milliseconds since epoch. */
  mtime: number;
}

/** umlab's own files in the share (agent replies); hidden from listings and refused to the page. */
export const PRIVATE_DIR = "/.umlab";
const MAX_PATH = 1024;

/** Checks a share path: absolute, no empty, "." or ".." parts, and outside umlab's private folder. */
export function checkSharePath(path: string): string | undefined {
  if (!path.startsWith("/")) return `"${path}" must start with "/"`;
  if (path.length > MAX_PATH) return `the path is longer than ${MAX_PATH} characters`;
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\x00-\x1f\x7f]/.test(path)) return "the path contains control characters";
  const parts = path.slice(1).split("/");
  if (parts.some((p) => p === "" || p === "." || p === "..")) return `"${path}" has an empty, "." or ".." part`;
  if (path === PRIVATE_DIR || path.startsWith(`${PRIVATE_DIR}/`)) return `${PRIVATE_DIR} is umlab's own folder`;
  return undefined;
}

export class ShareFs {
  constructor(private readonly fs: V86FileSystem) {}

  /** Every entry under `dir`, depth first, umlab's private folder left out. */
  list(dir = "/"): ShareEntry[] {
    const out: ShareEntry[] = [];
    const walk = (path: string): void => {
      for (const name of (this.fs.read_dir(path) ?? []).sort()) {
        const child = path === "/" ? `/${name}` : `${path}/${name}`;
        if (child === PRIVATE_DIR) continue;
        const { id } = this.fs.SearchPath(child);
        if (id < 0) continue;
        const inode = this.fs.GetInode(id);
        const isDir = this.fs.IsDirectory(id);
        out.push({ path: child, kind: isDir ? "dir" : "file", size: isDir ? 0 : inode.size, mtime: inode.mtime * 1000 });
        if (isDir) walk(child);
      }
    };
    walk(dir);
    return out;
  }

  /** Writes a whole file, creating its folders and replacing an older file of that name. */
  async put(path: string, bytes: Uint8Array, internal = false): Promise<void> {
    const problem = checkSharePath(path);
    if (problem && !(internal && path.startsWith(`${PRIVATE_DIR}/`))) throw new Error(problem);
    const parts = path.slice(1).split("/");
    const name = parts.pop() ?? "";
    let parent = 0;
    let walked = "";
    for (const part of parts) {
      walked += `/${part}`;
      const found = this.fs.SearchPath(walked);
      if (found.id >= 0 && !this.fs.IsDirectory(found.id)) throw new Error(`${walked} is a file, not a folder`);
      parent = found.id >= 0 ? found.id : this.fs.CreateDirectory(part, parent);
    }
    const existing = this.fs.SearchPath(path);
    if (existing.id >= 0) {
      if (this.fs.IsDirectory(existing.id)) throw new Error(`${path} is a folder`);
      this.fs.DeleteNode(path);
    }
    await this.fs.CreateBinaryFile(name, parent, bytes);
  }

  async read(path: string, internal = false): Promise<Uint8Array> {
    const problem = checkSharePath(path);
    if (problem && !(internal && path.startsWith(`${PRIVATE_DIR}/`))) throw new Error(problem);
    const { id } = this.fs.SearchPath(path);
    if (id < 0) throw new Error(`no file ${path} in the share`);
    if (this.fs.IsDirectory(id)) throw new Error(`${path} is a folder`);
    // A copy: v86 hands out a view of the file's own storage, which a transfer would take away from it.
    return (await this.fs.read_file(path))?.slice() ?? new Uint8Array();
  }

  /** Removes a file, or a folder with everything in it. */
  delete(path: string): void {
    const problem = checkSharePath(path);
    if (problem) throw new Error(problem);
    if (this.fs.SearchPath(path).id < 0) throw new Error(`no file ${path} in the share`);
    this.fs.DeleteNode(path);
  }
}
