import { describe, expect, it } from "vitest";
import { filesFromDirectory, filesFromEntries, filesFromList, readWithProgress, type DirectoryHandleLike, type EntryLike, type FileHandleLike } from "./file-sources.ts";

const fileHandle = (name: string, text: string): FileHandleLike => ({ kind: "file", name, getFile: () => Promise.resolve(new Blob([text])) });
const dirHandle = (name: string, children: (FileHandleLike | DirectoryHandleLike)[]): DirectoryHandleLike => ({
  kind: "directory",
  name,
  async *values() {
    yield* children;
  },
});

const fileEntry = (name: string, text: string): EntryLike => ({ isFile: true, isDirectory: false, name, file: (ok: (f: File) => void) => ok(new File([text], name)) }) as EntryLike;
const dirEntry = (name: string, children: EntryLike[]): EntryLike => {
  // Two batches then an empty one, as Chromium answers.
  const batches = [children.slice(0, 1), children.slice(1), []];
  return { isFile: false, isDirectory: true, name, createReader: () => ({ readEntries: (ok: (e: EntryLike[]) => void) => ok(batches.shift() ?? []) }) } as EntryLike;
};

describe("folder walks", () => {
  it("list a picked folder's files recursively under its name", async () => {
    const files = await filesFromDirectory(dirHandle("proj", [fileHandle("a.txt", "a"), dirHandle("src", [fileHandle("main.c", "int main;")])]));
    expect(files.map((f) => f.relativePath)).toEqual(["proj/a.txt", "proj/src/main.c"]);
    expect(await files[1]?.file.text()).toBe("int main;");
  });

  it("list dropped files and folders, reading every batch", async () => {
    const files = await filesFromEntries([fileEntry("top.txt", "t"), dirEntry("d", [fileEntry("1", "x"), fileEntry("2", "y"), dirEntry("e", [fileEntry("3", "z")])])]);
    expect(files.map((f) => f.relativePath)).toEqual(["top.txt", "d/1", "d/2", "d/e/3"]);
  });

  it("use a folder input's relative paths, else the names", () => {
    const a = Object.assign(new Blob(["a"]), { name: "a.txt", webkitRelativePath: "dir/a.txt" });
    const b = Object.assign(new Blob(["b"]), { name: "b.txt", webkitRelativePath: "" });
    expect(filesFromList([a, b]).map((f) => f.relativePath)).toEqual(["dir/a.txt", "b.txt"]);
  });
});

describe("readWithProgress", () => {
  it("reads every byte and reports growing progress up to the size", async () => {
    const bytes = new Uint8Array(200_000).map((_, i) => i % 251);
    const seen: number[] = [];
    const out = await readWithProgress(new Blob([bytes]), (loaded, total) => {
      expect(total).toBe(bytes.length);
      seen.push(loaded);
    });
    expect(out).toEqual(bytes);
    expect(seen[0]).toBe(0);
    expect(seen.at(-1)).toBe(bytes.length);
    expect([...seen].sort((x, y) => x - y)).toEqual(seen);
  });
  it("reads an empty file", async () => {
    expect((await readWithProgress(new Blob([]), () => undefined)).length).toBe(0);
  });
});
