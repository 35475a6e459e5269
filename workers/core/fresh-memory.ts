// Spares a restore the zeroing of guest RAM that a new emulator's wasm memory already guarantees.
//
// v86 0.5.462 unpacks a saved state by zeroing all of guest RAM (CPU.unpack_memory calls the wasm export
// zero_memory(0, memory size)) and then copying in the pages the state carries. In a new emulator that RAM
// is wasm memory grown for it, which WebAssembly defines as zero, so the zeroing only makes the host touch
// every page: 256 MiB, 0.2-0.27 s of a restore in Chromium, for a state that carries 32 MB.
//
// Exact, not hopeful: the wrapper records which part of the allocation lay beyond the memory's end when it
// was made (grown, so zero), and the first whole-RAM zeroing still clears everything below that and the
// first MiB, where v86 writes the BIOS and VGA BIOS before the restore. Everything else passes through.

/** What v86 writes into guest RAM between allocating it and restoring a state: the BIOS images below 1 MiB. */
export const WRITTEN_BEFORE_RESTORE = 0x100000;

/** The counts of the zeroing a wrapped instance skipped and did, for tests. */
export interface FreshMemoryStats {
  skippedBytes: number;
  zeroedBytes: number;
}

/** The exports this reads, typed structurally: Node's type declarations (the cli's config) have no WebAssembly. */
interface V86RamExports {
  memory: { buffer: ArrayBuffer };
  allocate_memory(size: number): number;
  zero_memory(offset: number, size: number): void;
}

function isV86RamExports(exports: object): exports is V86RamExports {
  const e = exports as Partial<Record<keyof V86RamExports, unknown>>;
  const memory = e.memory as { buffer?: unknown } | undefined;
  return typeof e.allocate_memory === "function" && typeof e.zero_memory === "function" && memory?.buffer instanceof ArrayBuffer;
}

/**
 * Wraps v86's wasm exports (for the wasm_fn option) so that the first zeroing of all guest RAM skips what
 * is known to be zero. Exports of another shape are returned unchanged.
 */
export function withFreshGuestMemory<T extends object>(exports: T, stats?: FreshMemoryStats): T {
  if (!isV86RamExports(exports)) return exports;
  const { memory, allocate_memory: allocate, zero_memory: zero } = exports;
  /** Guest RAM's size and the first offset in it from which it is known to be zero, until the first zeroing. */
  let fresh: { size: number; zeroFrom: number } | undefined;
  let used = false;
  const wrapped: V86RamExports = {
    ...exports,
    allocate_memory: (size: number): number => {
      const end = memory.buffer.byteLength;
      const pointer = allocate(size) >>> 0;
      // Only the part past the memory's old end was grown for this allocation; the allocator may have
      // handed out earlier bytes that were used and freed.
      if (!used && fresh === undefined) fresh = { size, zeroFrom: Math.min(size, Math.max(WRITTEN_BEFORE_RESTORE, end - pointer)) };
      return pointer;
    },
    zero_memory: (offset: number, size: number): void => {
      const known = fresh;
      const first = !used;
      fresh = undefined;
      used = true;
      const from = first && known && offset === 0 && size === known.size ? known.zeroFrom : size;
      zero(offset, from);
      if (stats) {
        stats.zeroedBytes += from;
        stats.skippedBytes += size - from;
      }
    },
  };
  return wrapped as T;
}
