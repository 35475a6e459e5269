import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BlockStore } from "./block-store.ts";
import {
  COW_HEADER_SIZE,
  CowFormatError,
  cowLayout,
  encodeCowHeader,
  gunzipChunks,
  importCowFile,
  parseCowHeader,
  readCowFile,
  sniffGzip,
  writeFreshCow,
  type CowHeaderFields,
  type CowLayout,
} from "./uml-cow.ts";
import { ExtentFile, rebaseCow } from "./rebase-cow.ts";

/**
 * Node's modules, loaded by a name TypeScript does not resolve: a static `node:` import would pull
 * @types/node's globals into the whole workers/ type-check, where pure cores must not see them.
 */
const node = <T>(name: string): Promise<T> => import(/* @vite-ignore */ name) as Promise<T>;
interface NodeFs {
  closeSync(fd: number): void;
  copyFileSync(from: string, to: string): void;
  existsSync(file: string): boolean;
  mkdtempSync(prefix: string): string;
  openSync(file: string, flags: string): number;
  readFileSync(file: string): Uint8Array;
  readSync(fd: number, into: Uint8Array, offset: number, length: number, position: number): number;
  readdirSync(dir: string): string[];
  realpathSync(file: string): string;
  rmSync(file: string, options: { recursive: boolean; force: boolean }): void;
  statSync(file: string): { size: number; mtimeMs: number };
  truncateSync(file: string, length: number): void;
  utimesSync(file: string, atime: number, mtime: number): void;
  writeFileSync(file: string, data: Uint8Array): void;
}
const { closeSync, copyFileSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync, realpathSync, rmSync, statSync, truncateSync, utimesSync, writeFileSync } =
  await node<NodeFs>("node:fs");
const { execFileSync } = await node<{ execFileSync(file: string, args: string[], options: { cwd: string; encoding: "utf8"; stdio: "pipe" }): string }>("node:child_process");
const os = await node<{ tmpdir(): string; homedir(): string }>("node:os");
const path = await node<{ join(...parts: string[]): string }>("node:path");
const env = (globalThis as unknown as { process: { env: Record<string, string | undefined> } }).process.env;

const MiB = 1 << 20;

/** A disk in memory. */
class MemStore implements BlockStore {
  readonly bytes: Uint8Array;
  constructor(length: number) {
    this.bytes = new Uint8Array(length);
  }
  get byteLength(): number {
    return this.bytes.length;
  }
  read(offset: number, length: number): Uint8Array {
    return this.bytes.subarray(offset, offset + length);
  }
  write(offset: number, data: Uint8Array): void {
    this.bytes.set(data, offset);
  }
}

/** A disk that starts all zero and records which 4 KiB blocks were written: what import must leave alone. */
class BlankDisk extends MemStore {
  readonly dirtyBlocks = new Set<number>();
  override write(offset: number, data: Uint8Array): void {
    if (offset < 0 || offset + data.length > this.byteLength) throw new RangeError(`write ${offset}+${data.length} is outside the disk`);
    for (let b = Math.floor(offset / 4096); b * 4096 < offset + data.length; b++) this.dirtyBlocks.add(b);
    super.write(offset, data);
  }
}

const blankDisk = (length: number): BlankDisk => new BlankDisk(length);

function pseudoRandom(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Puts `data` into the COW as sector `sector`'s new contents and marks it in the bitmap. */
function setSector(store: BlockStore, layout: CowLayout, sector: number, data: Uint8Array): void {
  store.write(layout.dataOffset + sector * 512, data);
  const at = layout.bitmapOffset + Math.floor(sector / 8);
  const byte = store.read(at, 1)[0] ?? 0;
  store.write(at, new Uint8Array([byte | (1 << sector % 8)]));
}

/** Byte equality that stays fast for megabytes (toEqual walks arrays element by element). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array<ArrayBuffer>> {
  const parts: Uint8Array[] = [];
  for await (const c of chunks) parts.push(c);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Feeds `bytes` in chunks of the given sizes, repeating the last size. */
async function* chunked(bytes: Uint8Array, sizes: number[] = [MiB]): AsyncGenerator<Uint8Array> {
  let at = 0;
  let i = 0;
  while (at < bytes.length) {
    const n = sizes[Math.min(i++, sizes.length - 1)] ?? MiB;
    yield bytes.slice(at, at + n);
    at += n;
  }
}

async function expectCowError(promise: Promise<unknown>, message: RegExp): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CowFormatError);
  expect((error as Error).message).toMatch(message);
}

/** A small COW in memory: 64 KiB backing, a few sectors changed. */
function sampleCow(extra = 0): { store: MemStore; fields: CowHeaderFields; layout: CowLayout; sectors: Map<number, Uint8Array> } {
  const fields = { backingFile: "/dev/sda", mtime: 1_700_000_000, size: 64 * 1024 };
  const layout = cowLayout(fields.size);
  const store = new MemStore(layout.totalLength + extra);
  writeFreshCow(store, fields);
  const sectors = new Map<number, Uint8Array>();
  for (const s of [0, 1, 9, 64, 127]) {
    const data = pseudoRandom(512, s + 1);
    setSector(store, layout, s, data);
    sectors.set(s, data);
  }
  return { store, fields, layout, sectors };
}

describe("COW layout", () => {
  it("puts the v3 bitmap at the header size rounded up to the alignment", () => {
    expect(cowLayout(268435456)).toEqual({ bitmapOffset: 8192, bitmapLength: 65536, dataOffset: 73728, totalLength: 268509184 });
    // 1953.125 sectors round up to 1954 bits, 245 bytes; uml_mkcow makes a 1012288-byte file for it.
    expect(cowLayout(1_000_000)).toEqual({ bitmapOffset: 8192, bitmapLength: 245, dataOffset: 12288, totalLength: 1_012_288 });
    expect(cowLayout(4 * MiB, 512, 512)).toEqual({ bitmapOffset: 4608, bitmapLength: 1024, dataOffset: 5632, totalLength: 5632 + 4 * MiB });
    expect(() => cowLayout(0)).toThrow(RangeError);
    expect(() => cowLayout(1.5)).toThrow(RangeError);
  });
});

describe("COW header", () => {
  const fields = { backingFile: "/dev/sda", mtime: 1_795_333_142, size: 256 * MiB };

  it("encodes the packed big-endian v3 header and parses it back", () => {
    const bytes = encodeCowHeader(fields);
    expect(bytes.length).toBe(8192);
    expect([...bytes.subarray(0, 32)]).toEqual([
      0x4f, 0x4f, 0x4f, 0x4d, 0, 0, 0, 3, 0x6b, 0x02, 0x9c, 0x16, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0x10, 0, 0, 0, 0, 0,
    ]);
    expect(new TextDecoder().decode(bytes.subarray(32, 40))).toBe("/dev/sda");
    expect(bytes.subarray(40).every((b) => b === 0)).toBe(true);
    expect(parseCowHeader(bytes)).toEqual({
      version: 3,
      ...fields,
      sectorSize: 512,
      alignment: 4096,
      layout: cowLayout(fields.size),
    });
    // The header alone (without the padding) is enough to parse.
    expect(parseCowHeader(bytes.subarray(0, COW_HEADER_SIZE)).backingFile).toBe("/dev/sda");
    const unicode = encodeCowHeader({ ...fields, backingFile: "/srv/räume/root.img" });
    expect(parseCowHeader(unicode).backingFile).toBe("/srv/räume/root.img");
  });

  it("refuses fields UML could not read back", () => {
    expect(encodeCowHeader({ ...fields, backingFile: "/" + "x".repeat(4094) }).length).toBe(8192);
    expect(() => encodeCowHeader({ ...fields, backingFile: "/" + "x".repeat(4095) })).toThrow(/4096 bytes; the limit is 4095/);
    expect(() => encodeCowHeader({ ...fields, backingFile: "" })).toThrow(/empty/);
    expect(() => encodeCowHeader({ ...fields, backingFile: "/a\0b" })).toThrow(/NUL/);
    expect(() => encodeCowHeader({ ...fields, mtime: 2 ** 32 })).toThrow(/mtime/);
    expect(() => encodeCowHeader({ ...fields, mtime: -1 })).toThrow(/mtime/);
  });

  describe("rejects with an error for the user", () => {
    const good = (): Uint8Array => encodeCowHeader(fields);
    const withU32 = (offset: number, value: number): Uint8Array => {
      const bytes = good();
      new DataView(bytes.buffer).setUint32(offset, value);
      return bytes;
    };
    const cases: [string, () => Uint8Array, RegExp][] = [
      ["a file of other data", () => pseudoRandom(8192, 7), /^This file is not a UML COW file \(it does not start with the COW magic OOOM\)/],
      ["an empty file", () => new Uint8Array(0), /^The file is truncated: .* only 0/],
      ["a cut header", () => good().subarray(0, 100), /^The file is truncated: its COW header needs 4128 bytes, but it has only 100/],
      ["a cut magic", () => good().subarray(0, 3), /^The file is truncated/],
      ["version 2", () => withU32(4, 2), /^COW version 2 is not supported; umlab reads version 3/],
      [
        "a version 1 file in host byte order",
        () => {
          const bytes = new Uint8Array(300);
          new DataView(bytes.buffer).setUint32(0, 0x4f4f4f4d, true);
          new DataView(bytes.buffer).setUint32(4, 1, true);
          return bytes;
        },
        /^COW version 1 is not supported/,
      ],
      ["4096-byte sectors", () => withU32(20, 4096), /uses 4096-byte sectors; umlab reads only 512-byte sectors/],
      ["a zero alignment", () => withU32(24, 0), /alignment 0/],
      ["a COW format other than the bitmap", () => withU32(28, 1), /COW format 1/],
      ["the pre-2006 64-bit layout", () => withU32(32, 0), /broken 64-bit header layout/],
      ["a zero size", () => withU32(16, 0), /size 0 is impossible/],
      ["an unterminated backing path", () => good().fill(0x61, 32, COW_HEADER_SIZE), /backing file name is not terminated/],
    ];
    it.each(cases)("%s", (_name, bytes, message) => {
      let error: unknown;
      try {
        parseCowHeader(bytes());
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(CowFormatError);
      expect((error as Error).message).toMatch(message);
    });
  });
});

describe("fresh COW and export", () => {
  it("writes only the header onto a blank disk", () => {
    const fields = { backingFile: "/dev/sda", mtime: 1, size: 256 * MiB };
    const disk = blankDisk(cowLayout(fields.size).totalLength);
    writeFreshCow(disk, fields);
    expect([...disk.dirtyBlocks.keys()]).toEqual([0, 1]);
    expect(sameBytes(disk.read(0, 8192), encodeCowHeader(fields))).toBe(true);
    expect(() => writeFreshCow(blankDisk(cowLayout(fields.size).totalLength - 1), fields)).toThrow(/needs 268509184 bytes/);
  });

  it("reads exactly the COW file off a longer disk, in chunks", async () => {
    const { store, layout } = sampleCow(10_000);
    const chunks: Uint8Array[] = [];
    for await (const c of readCowFile(store, 5000)) chunks.push(c);
    expect(chunks.map((c) => c.length)).toEqual([...Array<number>(Math.floor(layout.totalLength / 5000)).fill(5000), layout.totalLength % 5000]);
    const file = await collect(readCowFile(store));
    expect(sameBytes(file, store.bytes.subarray(0, layout.totalLength))).toBe(true);
    // Chunks are copies, so writing to the disk afterwards does not change them.
    store.bytes[0] = 0;
    expect(file[0]).toBe(0x4f);
  });

  it("refuses a disk without a COW or too short for its COW", async () => {
    await expectCowError(collect(readCowFile(new MemStore(MiB))), /not a UML COW file/);
    const { store, layout } = sampleCow();
    const short = new MemStore(layout.totalLength - 1);
    short.write(0, store.bytes.subarray(0, short.byteLength));
    await expectCowError(collect(readCowFile(short)), /holds only/);
  });
});

describe("COW import", () => {
  const expectation = { size: 64 * 1024, backingFiles: ["/dev/sda"] };

  it("copies the non-zero blocks onto a blank disk, however the file is chunked", async () => {
    const { store, layout } = sampleCow();
    const file = store.bytes.slice(0, layout.totalLength);
    for (const sizes of [[MiB], [1], [3, 4125, 7, 4096, 5000], [4127, 2, 999]]) {
      const disk = blankDisk(layout.totalLength + 4096);
      const { header, bytesWritten } = await importCowFile(chunked(file, sizes), expectation, disk);
      expect(header.backingFile).toBe("/dev/sda");
      expect(sameBytes(disk.read(0, disk.byteLength), Uint8Array.from([...file, ...new Uint8Array(4096)]))).toBe(true);
      // Header, bitmap (one block) and the data blocks of sectors 0, 1, 9 (block 0 and 1), 64 and 127 (blocks 8, 15).
      const dataBlocks = [0, 1, 8, 15].map((b) => layout.dataOffset / 4096 + b);
      expect([...disk.dirtyBlocks.keys()].sort((a, b) => a - b)).toEqual([0, 2, ...dataBlocks]);
      expect(bytesWritten).toBe(6 * 4096);
    }
  });

  it("handles a file whose length is not a multiple of 4 KiB", async () => {
    const fields = { backingFile: "/dev/sda", mtime: 5, size: 1_000_000 };
    const layout = cowLayout(fields.size);
    const store = new MemStore(layout.totalLength);
    writeFreshCow(store, fields);
    const last = Math.ceil(fields.size / 512) - 1;
    // The last sector is partial (1000000 = 1953 * 512 + 64): the COW file ends inside it.
    setSector(store, layout, last, pseudoRandom(fields.size - last * 512, 3));
    const disk = blankDisk(layout.totalLength);
    const result = await importCowFile(readCowFile(store, 3000), { size: fields.size }, disk);
    expect(sameBytes(disk.read(0, layout.totalLength), store.bytes)).toBe(true);
    expect(result.bytesWritten).toBe(4096 + 4096 + (layout.totalLength % 4096));
  });

  it("leaves the disk untouched when the file is wrong", async () => {
    const { store, layout } = sampleCow();
    const file = store.bytes.slice(0, layout.totalLength);
    const cases: [AsyncIterable<Uint8Array>, typeof expectation, RegExp][] = [
      [chunked(file.subarray(0, file.length - 1), [4000]), expectation, /^The file is truncated: it has 77823 bytes, but a COW file for a 65536-byte disk has 77824/],
      [chunked(file.subarray(0, 5000)), expectation, /^The file is truncated/],
      [chunked(file.subarray(0, 4000)), expectation, /^The file is truncated: its COW header needs 4128 bytes, but it has only 4000/],
      [chunked(new Uint8Array(0)), expectation, /^The file is truncated/],
      [chunked(Uint8Array.from([...file, 0]), [4000]), expectation, /^The file is too long/],
      [chunked(pseudoRandom(200_000, 9), [1]), expectation, /^This file is not a UML COW file/],
      [chunked(file), { size: 128 * 1024, backingFiles: ["/dev/sda"] }, /^This COW file was made for a disk of 65536 bytes, but this umlab's root disk is 131072 bytes\.$/],
      [chunked(file), { size: 64 * 1024, backingFiles: ["/dev/sdc", "/dev/vda"] }, /made for the root image "\/dev\/sda", not for this umlab release's root image \("\/dev\/sdc" or "\/dev\/vda"\)/],
    ];
    for (const [chunks, expect_, message] of cases) {
      const disk = blankDisk(layout.totalLength);
      await expectCowError(importCowFile(chunks, expect_, disk), message);
      expect(disk.dirtyBlocks.size).toBe(0);
    }
    const small = blankDisk(layout.totalLength - 1);
    await expectCowError(importCowFile(chunked(file), expectation, small), /needs 77824 bytes, but umlab's state disk holds only 77823/);
    expect(small.dirtyBlocks.size).toBe(0);
  });

  it("names both sizes when the file is for another disk", async () => {
    const fields = { backingFile: "/dev/sda", mtime: 5, size: 256 * MiB };
    const header = encodeCowHeader(fields);
    await expectCowError(
      importCowFile(chunked(header), { size: 512 * MiB }, blankDisk(MiB)),
      /^This COW file was made for a disk of 268435456 bytes \(256 MiB\), but this umlab's root disk is 536870912 bytes \(512 MiB\)\.$/,
    );
  });

  it("imports a gzipped export through gunzipChunks", async () => {
    const { store, layout } = sampleCow(4096);
    const gz = await collect(new Blob([await collect(readCowFile(store))]).stream().pipeThrough(new CompressionStream("gzip")));
    expect(sniffGzip(gz)).toBe(true);
    expect(sniffGzip(store.bytes)).toBe(false);
    expect(gz.length).toBeLessThan(10_000);
    const disk = blankDisk(layout.totalLength);
    await importCowFile(gunzipChunks(new Blob([gz]).stream()), expectation, disk);
    expect(sameBytes(disk.read(0, layout.totalLength), store.bytes.subarray(0, layout.totalLength))).toBe(true);
    // The same from an async iterable in small pieces.
    const disk2 = blankDisk(layout.totalLength);
    await importCowFile(gunzipChunks(chunked(gz, [100])), expectation, disk2);
    expect(sameBytes(disk2.read(0, layout.totalLength), store.bytes.subarray(0, layout.totalLength))).toBe(true);

    const broken = blankDisk(layout.totalLength);
    await expectCowError(importCowFile(gunzipChunks(chunked(gz.subarray(0, gz.length - 20))), expectation, broken), /not a valid gzip file, or it is truncated/);
    await expectCowError(importCowFile(gunzipChunks(chunked(pseudoRandom(5000, 4))), expectation, broken), /not a valid gzip file/);
    expect(broken.dirtyBlocks.size).toBe(0);
  });

  it("passes on an error of the gzip source itself", async () => {
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield Uint8Array.from([0x1f, 0x8b]);
      throw new Error("disk read failed");
    }
    await expect(collect(gunzipChunks(failing()))).rejects.toThrow("disk read failed");
  });
});

/** The pinned uml-utilities:i386 tools, unpacked by `npm run images`. */
function umlUtilitiesBin(): string {
  const cache = env.UMLAB_CACHE ?? path.join(env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "umlab");
  const unpacked = path.join(cache, "debs", "unpacked");
  const dir = existsSync(unpacked) ? readdirSync(unpacked).find((d) => /^uml-utilities_.*_i386$/.test(d)) : undefined;
  const bin = dir && path.join(unpacked, dir, "usr", "bin");
  if (!bin || !existsSync(path.join(bin, "uml_mkcow")) || !existsSync(path.join(bin, "uml_moo"))) {
    throw new Error(`uml-utilities (i386) is not unpacked under ${unpacked}: run \`npm run images\` first, which fetches it.`);
  }
  return bin;
}

describe("interop with the real uml_mkcow and uml_moo", () => {
  let bin = "";
  let tmp = "";
  const tool = (name: string, args: string[]): string => execFileSync(path.join(bin, name), args, { cwd: tmp, encoding: "utf8", stdio: "pipe" });
  const mtimeOf = (file: string): number => Math.floor(statSync(file).mtimeMs / 1000);

  beforeAll(() => {
    bin = umlUtilitiesBin();
    // uml_mkcow records the backing path with its directories resolved (chdir + getcwd), so use the real path.
    tmp = realpathSync(mkdtempSync(path.join(os.tmpdir(), "umlab-cow-")));
  });
  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it.each([1_000_000, 4 * MiB, 256 * MiB])("writes the same header and file length as uml_mkcow for a %i-byte backing file", (size) => {
    const backing = path.join(tmp, `backing-${size}.img`);
    writeFileSync(backing, pseudoRandom(Math.min(size, MiB), size));
    truncateSync(backing, size); // sparse beyond 1 MiB: uml_mkcow reads only the size and mtime
    const cow = path.join(tmp, `mkcow-${size}.cow`);
    tool("uml_mkcow", [cow, backing]);

    const layout = cowLayout(size);
    expect(statSync(cow).size).toBe(layout.totalLength);
    const theirs = new Uint8Array(layout.dataOffset);
    const fd = openSync(cow, "r");
    try {
      expect(readSync(fd, theirs, 0, theirs.length, 0)).toBe(theirs.length);
    } finally {
      closeSync(fd);
    }
    const ours = new Uint8Array(layout.dataOffset);
    ours.set(encodeCowHeader({ backingFile: backing, mtime: mtimeOf(backing), size }));
    expect(sameBytes(theirs, ours)).toBe(true);
    expect(parseCowHeader(theirs)).toMatchObject({ backingFile: backing, size, mtime: mtimeOf(backing), layout });
  });

  /** A 4 MiB backing file and a COW of ours over it with some sectors changed, exported to `cowPath`. */
  async function ourCow(name: string, headerPath?: string): Promise<{ backing: string; cow: string; expected: Uint8Array }> {
    const size = 4 * MiB;
    const backingBytes = pseudoRandom(size, 42);
    const backing = path.join(tmp, `${name}.img`);
    writeFileSync(backing, backingBytes);
    const fields = { backingFile: headerPath ?? backing, mtime: mtimeOf(backing), size };
    const layout = cowLayout(size);
    const store = new MemStore(layout.totalLength + 3 * MiB); // the state disk is larger than the COW
    store.bytes.fill(0xee, layout.totalLength); // and what lies beyond the COW must not be exported
    writeFreshCow(store, fields);
    const expected = backingBytes.slice();
    for (const sector of [0, 1, 7, 8, 9, 100, 4095, 4096, 8190, 8191]) {
      const data = pseudoRandom(512, 1000 + sector);
      setSector(store, layout, sector, data);
      expected.set(data, sector * 512);
    }
    // Data in the COW for a sector whose bit is clear is not part of the disk.
    store.write(layout.dataOffset + 50 * 512, pseudoRandom(512, 5));
    const file = await collect(readCowFile(store));
    expect(file.length).toBe(layout.totalLength);
    const cow = path.join(tmp, `${name}.cow`);
    writeFileSync(cow, file);
    return { backing, cow, expected };
  }

  it("exports a COW that uml_moo merges into the expected image", async () => {
    const { cow, expected } = await ourCow("moo");
    const merged = path.join(tmp, "moo-merged.img");
    tool("uml_moo", [cow, merged]);
    expect(sameBytes(readFileSync(merged), expected)).toBe(true);
  });

  it("exports a COW that uml_moo -d merges in place", async () => {
    const { backing, cow, expected } = await ourCow("moo-d");
    tool("uml_moo", ["-d", cow]);
    expect(sameBytes(readFileSync(backing), expected)).toBe(true);
  });

  it("exports an umlab COW naming /dev/sda that uml_moo -b merges given a backing file with the header's mtime", async () => {
    const { backing, cow, expected } = await ourCow("moo-b", "/dev/sda");
    const merged = path.join(tmp, "moo-b-merged.img");
    const copy = path.join(tmp, "moo-b-copy.img");
    copyFileSync(backing, copy);
    // uml_moo checks the override's size and mtime against the header too.
    const headerMtime = parseCowHeader(readFileSync(cow).subarray(0, COW_HEADER_SIZE)).mtime;
    utimesSync(copy, headerMtime + 100, headerMtime + 100);
    expect(() => tool("uml_moo", ["-b", copy, cow, merged])).toThrow(/mtime mismatch/);
    utimesSync(copy, headerMtime, headerMtime);
    tool("uml_moo", ["-b", copy, cow, merged]);
    expect(sameBytes(readFileSync(merged), expected)).toBe(true);
  });

  it("rebases a merged lab's private image and COW onto the release, as a COW uml_moo merges into the same disk", async () => {
    const size = 4 * MiB;
    const releaseBytes = pseudoRandom(size, 77);
    const release = path.join(tmp, "rebase-release.img");
    writeFileSync(release, releaseBytes);
    // The private image: the release with earlier merges, one of which put a sector back as it was.
    const privateBytes = releaseBytes.slice();
    for (const sector of [3, 4, 200, 8191]) privateBytes.set(pseudoRandom(512, 300 + sector), sector * 512);
    privateBytes.set(releaseBytes.subarray(200 * 512, 201 * 512), 200 * 512);
    const layout = cowLayout(size);
    const cow = new MemStore(layout.totalLength);
    writeFreshCow(cow, { backingFile: "/images/private-1.img", mtime: 5, size });
    const expected = privateBytes.slice();
    for (const sector of [4, 10, 4096]) {
      const data = pseudoRandom(512, 900 + sector);
      setSector(cow, layout, sector, data);
      expected.set(data, sector * 512);
    }
    setSector(cow, layout, 11, releaseBytes.subarray(11 * 512, 12 * 512)); // written, yet as in the release

    const disk = (bytes: Uint8Array): MemStore => Object.assign(new MemStore(0), { bytes });
    const target = new MemStore(layout.totalLength);
    const header = { backingFile: release, mtime: mtimeOf(release), size };
    const { sectors } = rebaseCow(disk(releaseBytes), disk(privateBytes), cow, header, target);
    expect(sectors).toBe(5); // 3, 4, 10, 4096, 8191
    const file = path.join(tmp, "rebase.cow");
    writeFileSync(file, target.bytes);
    const merged = path.join(tmp, "rebase-merged.img");
    tool("uml_moo", [file, merged]);
    expect(sameBytes(readFileSync(merged), expected)).toBe(true);
  });

  describe("import of uml_mkcow files", () => {
    const size = 4 * MiB;
    let backing = "";
    let file: Uint8Array = new Uint8Array();
    beforeAll(() => {
      backing = path.join(tmp, "import.img");
      writeFileSync(backing, pseudoRandom(size, 11));
      const cow = path.join(tmp, "import.cow");
      tool("uml_mkcow", [cow, backing]);
      file = readFileSync(cow);
    });

    it("accepts a fresh uml_mkcow COW", async () => {
      const disk = blankDisk(cowLayout(size).totalLength);
      const { header, bytesWritten } = await importCowFile(chunked(file, [1000, MiB]), { size, backingFiles: [backing] }, disk);
      expect(header).toMatchObject({ backingFile: backing, size, mtime: mtimeOf(backing), sectorSize: 512, alignment: 4096 });
      // Only the block holding the header's fields and path is non-zero.
      expect(bytesWritten).toBe(4096);
      expect(sameBytes(disk.read(0, file.length), file)).toBe(true);
    });

    it("refuses a truncated one, a random file and one for another size, leaving the disk untouched", async () => {
      const other = path.join(tmp, "other.img");
      writeFileSync(other, pseudoRandom(MiB, 12));
      tool("uml_mkcow", [path.join(tmp, "other.cow"), other]);
      const cases: [Uint8Array, RegExp][] = [
        [file.subarray(0, file.length - 512), /^The file is truncated: it has 4206080 bytes, but a COW file for a 4194304-byte disk has 4206592\.$/],
        [pseudoRandom(file.length, 13), /^This file is not a UML COW file/],
        [readFileSync(path.join(tmp, "other.cow")), /^This COW file was made for a disk of 1048576 bytes \(1 MiB\), but this umlab's root disk is 4194304 bytes \(4 MiB\)\.$/],
      ];
      for (const [bytes, message] of cases) {
        const disk = blankDisk(cowLayout(size).totalLength);
        await expectCowError(importCowFile(chunked(bytes), { size, backingFiles: [backing] }, disk), message);
        expect(disk.dirtyBlocks.size).toBe(0);
      }
    });
  });
});

describe("ExtentFile", () => {
  it("reads a file through its extent map, across extents", () => {
    const disk = new MemStore(16 * 4096);
    for (let b = 0; b < 16; b++) disk.bytes.fill(b, b * 4096, (b + 1) * 4096);
    const file = new ExtentFile(disk, [[0, 5, 2], [2, 1, 1], [3, 12, 1]], 4 * 4096);
    const span = file.read(4096 - 1, 4096 + 2); // file bytes 4095..8192: blocks 0, 1 and 2
    expect([span[0], span[1], span[4096], span[4097]]).toEqual([5, 6, 6, 1]);
    expect(file.read(3 * 4096, 4096).every((b) => b === 12)).toBe(true);
    expect(() => file.read(4 * 4096, 1)).toThrow(RangeError);
  });
});
