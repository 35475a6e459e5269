// UML's copy-on-write file format, version 3 (linux arch/um/drivers/cow_user.c), as a pure codec.
//
// Layout, all integers big-endian: a packed 4128-byte header, zero padding up to the bitmap
// (at the header size rounded up to `alignment`), one bit per sector of the backing file (bit
// n % 8 of byte n / 8, as ubd_kern.c's ubd_test_bit), zero padding up to `alignment` again, then
// the data area: sector n of the disk lives at dataOffset + n * sectorSize when its bit is set.
// A fresh COW is the header plus a zero bitmap, and the file is dataOffset + size bytes long.
//
// In umlab the COW "file" is a raw disk (the host's /dev/sdb), so the codec works on a BlockStore.

import type { BlockStore } from "./block-store.ts";

/** "OOOM" read big-endian (cow_user.c calls it MOOO, its little-endian spelling). */
export const COW_MAGIC = 0x4f4f4f4d;
export const COW_VERSION = 3;
/** sizeof(struct cow_header_v3): 4 + 4 + 4 + 8 + 4 + 4 + 4 + 4096, packed. */
export const COW_HEADER_SIZE = 4128;
/** PATH_LEN_V3: the backing path field, which holds a NUL-terminated path. */
const PATH_LEN = 4096;
const BACKING_FILE_OFFSET = 32;
/** COW_BITMAP, the only cow_format UML knows. */
const COW_FORMAT_BITMAP = 0;
export const DEFAULT_SECTOR_SIZE = 512;
export const DEFAULT_ALIGNMENT = 4096;
/** Import keeps and writes the file in blocks of this size, skipping all-zero ones. */
const IMPORT_BLOCK = 4096;
const DEFAULT_CHUNK = 1 << 20;
/** Bounds a parsed alignment so a hostile header cannot ask for a gigantic bitmap offset. */
const MAX_ALIGNMENT = 1 << 20;

export interface CowHeaderFields {
  /** The backing file's path as the COW records it; UML opens this path unless told another. */
  backingFile: string;
  /** The backing file's mtime in seconds: UML and uml_moo refuse a backing file whose mtime differs. */
  mtime: number;
  /** The backing file's size in bytes: UML and uml_moo refuse a backing file whose size differs. */
  size: number;
  sectorSize?: number;
  alignment?: number;
}

export interface CowLayout {
  bitmapOffset: number;
  bitmapLength: number;
  dataOffset: number;
  /** The length of the whole COW file: dataOffset + size. */
  totalLength: number;
}

export interface CowHeader {
  version: 3;
  backingFile: string;
  mtime: number;
  size: number;
  sectorSize: number;
  alignment: number;
  layout: CowLayout;
}

/** A COW file that umlab cannot use; `message` is written for the person who chose the file. */
export class CowFormatError extends Error {
  override name = "CowFormatError";
}

const roundUp = (n: number, align: number): number => Math.ceil(n / align) * align;

/** Where the parts of a v3 COW for a backing file of `size` bytes go (cow_sizes() in cow_user.c). */
export function cowLayout(size: number, sectorSize = DEFAULT_SECTOR_SIZE, alignment = DEFAULT_ALIGNMENT): CowLayout {
  for (const [name, value] of [["size", size], ["sectorSize", sectorSize], ["alignment", alignment]] as const) {
    if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`COW ${name} must be a positive integer, got ${value}`);
  }
  // read_cow_header() puts the v3 bitmap at ROUND_UP(sizeof(header), align), not right after the header.
  const bitmapOffset = roundUp(COW_HEADER_SIZE, alignment);
  const bitmapLength = Math.ceil(Math.ceil(size / sectorSize) / 8);
  const dataOffset = roundUp(bitmapOffset + bitmapLength, alignment);
  return { bitmapOffset, bitmapLength, dataOffset, totalLength: dataOffset + size };
}

/** The header bytes, zero-padded to the bitmap offset. Throws RangeError on fields UML could not read back. */
export function encodeCowHeader(fields: CowHeaderFields): Uint8Array {
  const sectorSize = fields.sectorSize ?? DEFAULT_SECTOR_SIZE;
  const alignment = fields.alignment ?? DEFAULT_ALIGNMENT;
  const layout = cowLayout(fields.size, sectorSize, alignment);
  if (!Number.isInteger(fields.mtime) || fields.mtime < 0 || fields.mtime > 0xffffffff) {
    throw new RangeError(`COW mtime must fit 32 bits unsigned, got ${fields.mtime}`);
  }
  const path = new TextEncoder().encode(fields.backingFile);
  // An empty path would make the header look like the broken 64-bit v3 layout to read_cow_header().
  if (path.length === 0) throw new RangeError("COW backing file path must not be empty");
  if (path.includes(0)) throw new RangeError("COW backing file path must not contain NUL");
  if (path.length >= PATH_LEN) throw new RangeError(`COW backing file path is ${path.length} bytes; the limit is ${PATH_LEN - 1}`);

  const out = new Uint8Array(layout.bitmapOffset);
  const view = new DataView(out.buffer);
  view.setUint32(0, COW_MAGIC);
  view.setUint32(4, COW_VERSION);
  view.setUint32(8, fields.mtime);
  view.setBigUint64(12, BigInt(fields.size));
  view.setUint32(20, sectorSize);
  view.setUint32(24, alignment);
  view.setUint32(28, COW_FORMAT_BITMAP);
  out.set(path, BACKING_FILE_OFFSET);
  return out;
}

/** Reads and checks a v3 header from the start of a COW file (at least COW_HEADER_SIZE bytes of it). */
export function parseCowHeader(bytes: Uint8Array): CowHeader {
  checkStart(bytes);
  if (bytes.length < COW_HEADER_SIZE) throw truncated(`its COW header needs ${COW_HEADER_SIZE} bytes, but it has only ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

  const pathField = bytes.subarray(BACKING_FILE_OFFSET, COW_HEADER_SIZE);
  // read_cow_header() takes a v3 header whose path starts with 4 zero bytes for the pre-2006 64-bit layout.
  if (view.getUint32(BACKING_FILE_OFFSET) === 0) {
    throw new CowFormatError("This COW file uses the broken 64-bit header layout of UML tools from before 2006, which umlab does not read.");
  }
  const nul = pathField.indexOf(0);
  if (nul < 0) throw new CowFormatError("This COW file's header is damaged: its backing file name is not terminated.");
  const backingFile = new TextDecoder().decode(pathField.subarray(0, nul));

  const sectorSize = view.getUint32(20);
  if (sectorSize !== DEFAULT_SECTOR_SIZE) {
    throw new CowFormatError(`This COW file uses ${sectorSize}-byte sectors; umlab reads only ${DEFAULT_SECTOR_SIZE}-byte sectors.`);
  }
  const alignment = view.getUint32(24);
  if (alignment < sectorSize || alignment > MAX_ALIGNMENT || alignment % sectorSize !== 0) {
    throw new CowFormatError(`This COW file's header is damaged: its alignment ${alignment} is not a multiple of ${sectorSize} up to ${MAX_ALIGNMENT}.`);
  }
  const cowFormat = view.getUint32(28);
  if (cowFormat !== COW_FORMAT_BITMAP) {
    throw new CowFormatError(`This COW file uses COW format ${cowFormat}; umlab reads only format ${COW_FORMAT_BITMAP} (the sector bitmap).`);
  }
  const size = view.getBigUint64(12);
  if (size === 0n || size > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new CowFormatError(`This COW file's header is damaged: its backing file size ${size} is impossible.`);
  }
  const sizeNumber = Number(size);
  return {
    version: COW_VERSION,
    backingFile,
    mtime: view.getUint32(8),
    size: sizeNumber,
    sectorSize,
    alignment,
    layout: cowLayout(sizeNumber, sectorSize, alignment),
  };
}

/**
 * Puts a fresh COW (header, empty bitmap) on a disk. Only the header is written: the store must read
 * as zeros over the bitmap, as a new state disk does, so no block beyond the header gets dirty.
 */
export function writeFreshCow(store: BlockStore, header: CowHeaderFields): void {
  const bytes = encodeCowHeader(header);
  const { totalLength } = cowLayout(header.size, header.sectorSize, header.alignment);
  if (store.byteLength < totalLength) {
    throw new RangeError(`a COW for a ${header.size}-byte backing file needs ${totalLength} bytes, but the disk has ${store.byteLength}`);
  }
  store.write(0, bytes);
}

/** The COW file on a disk, 0 .. totalLength (the disk may be longer), as copied chunks of about chunkSize bytes. */
export async function* readCowFile(store: BlockStore, chunkSize = DEFAULT_CHUNK): AsyncGenerator<Uint8Array, void, undefined> {
  if (!Number.isSafeInteger(chunkSize) || chunkSize <= 0) throw new RangeError(`chunkSize must be a positive integer, got ${chunkSize}`);
  const header = parseCowHeader(store.read(0, Math.min(COW_HEADER_SIZE, store.byteLength)));
  const { totalLength } = header.layout;
  if (store.byteLength < totalLength) {
    throw new CowFormatError(`The disk holds only ${store.byteLength} bytes of a ${totalLength}-byte COW file.`);
  }
  for (let offset = 0; offset < totalLength; offset += chunkSize) {
    // A copy, since the store may hand out views of its own buffers and the consumer may keep chunks.
    yield store.read(offset, Math.min(chunkSize, totalLength - offset)).slice();
  }
}

export interface CowImportExpectation {
  /** The size of the backing file (the root image) the COW must have been made for. */
  size: number;
  /** Backing paths a COW for this release records; any path is accepted when absent. */
  backingFiles?: string[];
}

export interface CowImportResult {
  header: CowHeader;
  /** Bytes written to the target: the non-zero 4 KiB blocks of the file. */
  bytesWritten: number;
}

/**
 * Checks a whole COW file and copies it onto `target` from offset 0.
 *
 * `target` must read as zeros beforehand (a fresh state disk): only the file's non-zero 4 KiB blocks
 * are written, and they are kept in memory until the whole file has been checked, so a file that
 * fails (wrong header, truncated, too long) leaves `target` untouched.
 */
export async function importCowFile(
  chunks: AsyncIterable<Uint8Array>,
  expect: CowImportExpectation,
  target: BlockStore,
): Promise<CowImportResult> {
  const head = new Uint8Array(COW_HEADER_SIZE);
  let header: CowHeader | undefined;
  let total = Infinity;
  const blocks = new Map<number, Uint8Array>();
  let block = new Uint8Array(IMPORT_BLOCK);
  let fill = 0;
  let position = 0;

  const keepBlock = (length: number): void => {
    const data = block.subarray(0, length);
    if (!isZero(data)) {
      blocks.set((position - length) / IMPORT_BLOCK, data);
      block = new Uint8Array(IMPORT_BLOCK);
    }
    fill = 0;
  };

  for await (const chunk of chunks) {
    if (position < COW_HEADER_SIZE) head.set(chunk.subarray(0, COW_HEADER_SIZE - position), position);
    if (!header) {
      const seen = Math.min(position + chunk.length, COW_HEADER_SIZE);
      if (seen === COW_HEADER_SIZE) {
        header = parseCowHeader(head);
        checkExpectation(header, expect, target);
        total = header.layout.totalLength;
      } else {
        // Reject a wrong file on its first bytes rather than after buffering all of it.
        checkStart(head.subarray(0, seen));
      }
    }
    if (position + chunk.length > total) {
      throw new CowFormatError(`The file is too long: a COW file for a ${describeSize(expect.size)} disk has exactly ${total} bytes.`);
    }
    let used = 0;
    while (used < chunk.length) {
      const n = Math.min(IMPORT_BLOCK - fill, chunk.length - used);
      block.set(chunk.subarray(used, used + n), fill);
      fill += n;
      used += n;
      position += n;
      if (fill === IMPORT_BLOCK) keepBlock(IMPORT_BLOCK);
    }
  }
  if (!header) header = parseCowHeader(head.subarray(0, position));
  if (position < total) {
    throw truncated(`it has ${position} bytes, but a COW file for a ${header.size}-byte disk has ${total}`);
  }
  if (fill > 0) keepBlock(fill);

  let bytesWritten = 0;
  for (const [index, data] of blocks) {
    target.write(index * IMPORT_BLOCK, data);
    bytesWritten += data.length;
  }
  return { header, bytesWritten };
}

/** True if the bytes start like a gzip stream (1f 8b), e.g. a .cow.gz export. */
export function sniffGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Gunzips a byte stream with the platform's DecompressionStream; a damaged gzip stream becomes a CowFormatError. */
export async function* gunzipChunks(source: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array, void, undefined> {
  const gunzip = new DecompressionStream("gzip");
  const writer = gunzip.writable.getWriter();
  const input = iterate(source);
  let sourceError: { error: unknown } | undefined;
  // Feeds the input concurrently; reading the output below is what keeps the pipe moving.
  const feeding = (async () => {
    for (;;) {
      let next: IteratorResult<Uint8Array>;
      try {
        next = await input.next();
      } catch (error) {
        sourceError = { error };
        await writer.abort(error).catch(() => undefined);
        return;
      }
      if (next.done) break;
      try {
        await writer.write(next.value as Uint8Array<ArrayBuffer>);
      } catch {
        // The decompressor failed or the reader was cancelled: the read side reports it.
        await input.return();
        return;
      }
    }
    await writer.close().catch(() => undefined);
  })();
  const reader = gunzip.readable.getReader();
  let finished = false;
  try {
    for (;;) {
      let next: Awaited<ReturnType<typeof reader.read>>;
      try {
        next = await reader.read();
      } catch (error) {
        if (sourceError) throw sourceError.error;
        throw new CowFormatError(`The file is not a valid gzip file, or it is truncated (${error instanceof Error ? error.message : String(error)}).`);
      }
      if (next.done) break;
      yield next.value;
    }
    finished = true;
  } finally {
    // Cancelling unblocks the feeder when the consumer stops early.
    if (!finished) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
    await feeding;
  }
}

async function* iterate(source: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array, void, undefined> {
  if (!("getReader" in source)) {
    yield* source;
    return;
  }
  const reader = source.getReader();
  try {
    for (;;) {
      const next = await reader.read();
      if (next.done) return;
      yield next.value;
    }
  } finally {
    reader.releaseLock();
  }
}

function checkExpectation(header: CowHeader, expect: CowImportExpectation, target: BlockStore): void {
  if (header.size !== expect.size) {
    throw new CowFormatError(
      `This COW file was made for a disk of ${describeSize(header.size)}, but this umlab's root disk is ${describeSize(expect.size)}.`,
    );
  }
  if (expect.backingFiles && !expect.backingFiles.includes(header.backingFile)) {
    const accepted = expect.backingFiles.map((f) => `"${f}"`).join(" or ");
    throw new CowFormatError(
      `This COW file was made for the root image "${header.backingFile}", not for this umlab release's root image (${accepted}).`,
    );
  }
  if (target.byteLength < header.layout.totalLength) {
    throw new CowFormatError(`This COW file needs ${header.layout.totalLength} bytes, but umlab's state disk holds only ${target.byteLength}.`);
  }
}

/** Checks the magic and version in however much of the header `bytes` holds, so a wrong file fails on its first bytes. */
function checkStart(bytes: Uint8Array): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magicBytes = [0x4f, 0x4f, 0x4f, 0x4d];
  const looksLikeCow = magicBytes.every((b, i) => i >= bytes.length || bytes[i] === b);
  // Version 1 files were written in host byte order, so the magic may also appear byte-swapped.
  const swapped = bytes.length >= 8 && view.getUint32(0, true) === COW_MAGIC;
  if (!looksLikeCow && !swapped) {
    throw new CowFormatError("This file is not a UML COW file (it does not start with the COW magic OOOM).");
  }
  if (bytes.length < 8) return;
  const version = view.getUint32(4, swapped);
  if (version !== COW_VERSION) throw new CowFormatError(`COW version ${version} is not supported; umlab reads version ${COW_VERSION}.`);
  if (swapped) throw new CowFormatError("This COW file has a byte-swapped (little-endian) header, which no UML tool writes for version 3.");
}

function truncated(detail: string): CowFormatError {
  return new CowFormatError(`The file is truncated: ${detail}.`);
}

function describeSize(bytes: number): string {
  const mib = bytes / (1 << 20);
  return Number.isInteger(mib) ? `${bytes} bytes (${mib} MiB)` : `${bytes} bytes`;
}

function isZero(data: Uint8Array): boolean {
  // Whole words first: import scans every byte of a file that may be hundreds of MiB.
  const words = Math.floor(data.length / 4);
  if (data.byteOffset % 4 === 0) {
    const view = new Uint32Array(data.buffer, data.byteOffset, words);
    for (let i = 0; i < words; i++) if (view[i] !== 0) return false;
  } else {
    for (let i = 0; i < words * 4; i++) if (data[i] !== 0) return false;
  }
  for (let i = words * 4; i < data.length; i++) if (data[i] !== 0) return false;
  return true;
}
