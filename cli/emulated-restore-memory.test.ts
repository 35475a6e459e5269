// A restore skips zeroing the guest RAM that a new emulator's wasm memory already holds as zero
// (workers/core/fresh-memory.ts). Real v86 restoring the real pre-booted snapshot through Machine: at the
// moment v86 would have zeroed it, every skipped byte must already be zero, so skipping changes nothing.
import { describe, expect, it } from "vitest";
import { buildImages } from "../images/build.ts";
import type { Machine, WasmLoader } from "../workers/core/machine.ts";
import { createNodeMachine, defaultImagesDir, loadManifest, v86WasmLoader } from "./node-machine.ts";

/** v86's RAM exports as this test watches them (typed structurally, as fresh-memory.ts does). */
interface RamExports {
  memory: { buffer: ArrayBuffer };
  allocate_memory(size: number): number;
  zero_memory(offset: number, size: number): void;
}

interface Watched {
  ram?: { pointer: number; size: number };
  /** Each zeroing v86 (through the wrapper) asked of its RAM: where, how much, and the first nonzero byte after it. */
  zeroings: { offset: number; size: number; firstNonzeroAfter: number }[];
}

/** A loader whose exports report their RAM's allocation and zeroings, below Machine's own wrapper. */
function watchingLoader(watched: Watched): WasmLoader {
  const base = v86WasmLoader();
  return {
    ready: base.ready,
    instantiate: async (imports) => {
      const exports = (await base.instantiate(imports)) as unknown as RamExports;
      const spied: RamExports = {
        ...exports,
        allocate_memory: (size) => {
          const pointer = exports.allocate_memory(size) >>> 0;
          watched.ram ??= { pointer, size };
          return pointer;
        },
        zero_memory: (offset, size) => {
          const ram = watched.ram;
          let firstNonzeroAfter = -1;
          if (ram) {
            // What the zeroing leaves alone must be zero already: scanned before the call, as v86 would find it.
            const rest = new Uint8Array(exports.memory.buffer, ram.pointer + offset + size, ram.size - offset - size);
            firstNonzeroAfter = rest.findIndex((byte) => byte !== 0);
          }
          watched.zeroings.push({ offset, size, firstNonzeroAfter });
          exports.zero_memory(offset, size);
        },
      };
      return spied as unknown as Awaited<ReturnType<WasmLoader["instantiate"]>>;
    },
  };
}

describe("restoring into fresh guest RAM", { timeout: 300_000 }, () => {
  it("zeroes only the first MiB: the rest of the new emulator's RAM is zero already, and UML answers", async () => {
    await buildImages();
    const dir = defaultImagesDir();
    const manifest = await loadManifest(dir);
    const watched: Watched = { zeroings: [] };
    let out = "";
    let machine: Machine | undefined;
    try {
      machine = createNodeMachine(dir, manifest, "lean", false, {
        stage: () => undefined,
        download: () => undefined,
        output: (id, bytes) => {
          if (id === "uml") out += new TextDecoder().decode(bytes);
        },
      }, { start: "snapshot", wasm: watchingLoader(watched) });
      await machine.boot();
      const ramBytes = (manifest.snapshots?.lean?.hostMemoryMiB ?? 0) * 1024 * 1024;
      expect(watched.ram?.size).toBe(ramBytes);
      // One zeroing, of the BIOS's first MiB (or the allocator's reused bytes, if more), not of all 256 MiB.
      expect(watched.zeroings).toHaveLength(1);
      const [zeroing] = watched.zeroings;
      expect(zeroing?.offset).toBe(0);
      expect(zeroing?.size).toBeGreaterThanOrEqual(0x100000);
      expect(zeroing?.size).toBeLessThan(ramBytes / 4);
      expect(zeroing?.firstNonzeroAfter).toBe(-1);
      // The restored machine works: its UML shell answers.
      machine.sendInput("uml", new TextEncoder().encode("echo fresh-$((6 * 7))\r"));
      await expect.poll(() => out, { timeout: 60_000, interval: 50 }).toMatch(/fresh-42/);
    } finally {
      await machine?.stop();
    }
  });
});
