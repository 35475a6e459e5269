import { describe, expect, it } from "vitest";
import { withFreshGuestMemory, WRITTEN_BEFORE_RESTORE, type FreshMemoryStats } from "./fresh-memory.ts";

const PAGE = 64 * 1024;

/** v86's RAM exports over a real wasm memory: a bump allocator that grows it, and a zeroing that records calls. */
function ramExports(startPages: number, reuseBytes = 0): { exports: { memory: WebAssembly.Memory; allocate_memory(size: number): number; zero_memory(offset: number, size: number): void }; calls: [number, number][] } {
  const memory = new WebAssembly.Memory({ initial: startPages, maximum: 1024 });
  const calls: [number, number][] = [];
  let base = 0;
  return {
    calls,
    exports: {
      memory,
      // Hands out `reuseBytes` below the old end (used and freed before), and grows for the rest.
      allocate_memory(size) {
        const pointer = memory.buffer.byteLength - reuseBytes;
        memory.grow(Math.ceil((size - reuseBytes) / PAGE));
        base = pointer;
        return pointer;
      },
      zero_memory(offset, size) {
        calls.push([offset, size]);
        new Uint8Array(memory.buffer, base + offset, size).fill(0);
      },
    },
  };
}

describe("withFreshGuestMemory", () => {
  it("zeroes only the BIOS's first MiB of newly grown RAM on the restore's whole-RAM zeroing", () => {
    const { exports, calls } = ramExports(1);
    const stats: FreshMemoryStats = { skippedBytes: 0, zeroedBytes: 0 };
    const wrapped = withFreshGuestMemory(exports, stats);
    const size = 8 * 1024 * 1024;
    wrapped.allocate_memory(size);
    wrapped.zero_memory(0, size);
    expect(calls).toEqual([[0, WRITTEN_BEFORE_RESTORE]]);
    expect(stats).toEqual({ zeroedBytes: WRITTEN_BEFORE_RESTORE, skippedBytes: size - WRITTEN_BEFORE_RESTORE });
    // Only the first: a later restore into the same RAM zeroes all of it.
    wrapped.zero_memory(0, size);
    expect(calls[1]).toEqual([0, size]);
  });

  it("also zeroes the bytes the allocator reused from below the memory's old end", () => {
    const reused = 3 * 1024 * 1024;
    const { exports, calls } = ramExports(64, reused);
    const wrapped = withFreshGuestMemory(exports);
    const pointer = wrapped.allocate_memory(8 * 1024 * 1024);
    // Dirt the allocator left there: the zeroing must clear it.
    new Uint8Array(exports.memory.buffer, pointer + reused - 4, 4).fill(0xaa);
    wrapped.zero_memory(0, 8 * 1024 * 1024);
    expect(calls).toEqual([[0, reused]]);
    expect(new Uint8Array(exports.memory.buffer, pointer, 8 * 1024 * 1024).every((b) => b === 0)).toBe(true);
  });

  it("passes every other zeroing through, and skips nothing once RAM was zeroed in part", () => {
    const { exports, calls } = ramExports(1);
    const wrapped = withFreshGuestMemory(exports);
    wrapped.allocate_memory(4 * 1024 * 1024);
    wrapped.zero_memory(4096, 8192);
    wrapped.zero_memory(0, 4 * 1024 * 1024);
    expect(calls).toEqual([[4096, 8192], [0, 4 * 1024 * 1024]]);
  });

  it("returns exports of another shape unchanged", () => {
    const other = { memory: new WebAssembly.Memory({ initial: 1 }), run: () => 0 };
    expect(withFreshGuestMemory(other)).toBe(other);
  });
});
