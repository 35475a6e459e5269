import { describe, expect, it } from "vitest";
import type { SharedEntry } from "../workers/api.ts";
import { baseName, safeFileName, sharePath, shareRows, storedKernels, totalBytes } from "./shared-files.ts";

const file = (path: string, size = 1): SharedEntry => ({ path, kind: "file", size, mtime: 0 });
const dir = (path: string): SharedEntry => ({ path, kind: "dir", size: 0, mtime: 0 });

describe("safeFileName", () => {
  it("keeps plain names and replaces what a command line would split on", () => {
    expect(safeFileName("disk.img")).toBe("disk.img");
    expect(safeFileName("my disk,1=2.img")).toBe("my_disk_1_2.img");
    expect(safeFileName("C:\\Users\\me\\vmlinux")).toBe("vmlinux");
    expect(safeFileName("..hidden")).toBe("hidden");
    expect(safeFileName("")).toBe("file");
    expect(safeFileName("ü.img")).toBe("_.img");
  });
});

describe("sharePath", () => {
  it("puts a picked file under /share, folders included", () => {
    expect(sharePath("notes.txt")).toBe("/share/notes.txt");
    expect(sharePath("proj/src/main.c")).toBe("/share/proj/src/main.c");
    expect(sharePath("a file.txt")).toBe("/share/a file.txt");
  });
  it("drops empty, dot and dot-dot segments and control bytes", () => {
    expect(sharePath("../../etc/passwd")).toBe("/share/etc/passwd");
    expect(sharePath("a\\b//c")).toBe("/share/a/b/c");
    expect(sharePath("x\u0001y")).toBe("/share/xy");
    expect(sharePath("..")).toBeUndefined();
  });
  it("can aim at another root", () => {
    expect(sharePath("d.img", "/disks")).toBe("/disks/d.img");
  });
});

describe("shareRows", () => {
  it("lists only the share, each folder before its contents", () => {
    const rows = shareRows([file("/share/z.txt"), file("/disks/d.img"), dir("/share/a"), file("/share/a/b.txt", 5), dir("/share"), file("/share/a.txt")]);
    expect(rows.map((r) => [r.path, r.depth])).toEqual([
      ["/share/a", 0],
      ["/share/a/b.txt", 1],
      ["/share/a.txt", 0],
      ["/share/z.txt", 0],
    ]);
    expect(rows[1]?.name).toBe("b.txt");
    expect(totalBytes(rows)).toBe(7);
  });
});

describe("storedKernels and baseName", () => {
  it("name the kernels in /kernels", () => {
    expect(storedKernels([file("/kernels/b"), file("/kernels/a"), dir("/kernels/x"), file("/kernels/x/y"), file("/share/k")])).toEqual(["a", "b"]);
  });
  it("take the last segment", () => {
    expect(baseName("/share/a/b.txt")).toBe("b.txt");
    expect(baseName("/share/")).toBe("share");
  });
});
