// Files the user hands the page (a folder picker, a drop, a file input) as relative paths, and reading them
// with progress. Written against small structural types so the walks are testable without a browser.

export interface PickedFile {
  /** Path relative to what was picked, e.g. "project/src/main.c" for a folder "project". */
  relativePath: string;
  file: Blob;
}

/** The parts of the File System Access API's handles a folder walk needs. */
export interface FileHandleLike {
  kind: "file";
  name: string;
  getFile(): Promise<Blob>;
}

export interface DirectoryHandleLike {
  kind: "directory";
  name: string;
  values(): AsyncIterable<FileHandleLike | DirectoryHandleLike>;
}

/** Every file under `dir`, recursively, with paths starting at the folder's own name. */
export async function filesFromDirectory(dir: DirectoryHandleLike, prefix: string = dir.name): Promise<PickedFile[]> {
  const out: PickedFile[] = [];
  for await (const handle of dir.values()) {
    const path = `${prefix}/${handle.name}`;
    if (handle.kind === "file") out.push({ relativePath: path, file: await handle.getFile() });
    else out.push(...(await filesFromDirectory(handle, path)));
  }
  return out;
}

/** The parts of a drop's FileSystemEntry (webkitGetAsEntry) a walk needs. */
export interface EntryLike {
  isFile: boolean;
  isDirectory: boolean;
  name: string;
}

export interface FileEntryLike extends EntryLike {
  file(success: (file: File) => void, failure?: (err: DOMException) => void): void;
}

export interface DirectoryEntryLike extends EntryLike {
  createReader(): { readEntries(success: (entries: EntryLike[]) => void, failure?: (err: DOMException) => void): void };
}

function isFileEntry(entry: EntryLike): entry is FileEntryLike {
  return entry.isFile && "file" in entry;
}

function isDirectoryEntry(entry: EntryLike): entry is DirectoryEntryLike {
  return entry.isDirectory && "createReader" in entry;
}

/** Every file under the dropped entries; folders are walked (readEntries answers in batches until empty). */
export async function filesFromEntries(entries: readonly EntryLike[], prefix = ""): Promise<PickedFile[]> {
  const out: PickedFile[] = [];
  for (const entry of entries) {
    const path = prefix === "" ? entry.name : `${prefix}/${entry.name}`;
    if (isFileEntry(entry)) {
      out.push({ relativePath: path, file: await new Promise<File>((resolve, reject) => entry.file(resolve, reject)) });
    } else if (isDirectoryEntry(entry)) {
      const reader = entry.createReader();
      const children: EntryLike[] = [];
      for (;;) {
        const batch = await new Promise<EntryLike[]>((resolve, reject) => reader.readEntries(resolve, reject));
        if (batch.length === 0) break;
        children.push(...batch);
      }
      out.push(...(await filesFromEntries(children, path)));
    }
  }
  return out;
}

/** Files from an <input type=file>: a folder input gives webkitRelativePath, a plain one only names. */
export function filesFromList(files: Iterable<Blob & { name: string; webkitRelativePath?: string }>): PickedFile[] {
  return [...files].map((file) => ({ relativePath: file.webkitRelativePath || file.name, file }));
}

/** Reads a whole file into memory, reporting bytes read so far (for big disk images and kernels). */
export async function readWithProgress(blob: Blob, progress: (loaded: number, total: number) => void): Promise<Uint8Array> {
  const total = blob.size;
  const out = new Uint8Array(total);
  const reader = blob.stream().getReader();
  let loaded = 0;
  progress(0, total);
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    // A file that grew while being read: stop at its size when it was picked.
    const chunk = value.subarray(0, total - loaded);
    out.set(chunk, loaded);
    loaded += chunk.length;
    progress(loaded, total);
  }
  return loaded === total ? out : out.slice(0, loaded);
}
