import { describe, expect, it } from "vitest";
import { ArtifactError, concatInitramfs, loadVerified, sha256Hex } from "./artifacts.ts";

const bytes = new TextEncoder().encode("hello artifact");
// printf 'hello artifact' | sha256sum
const sha = "d1cc3064379fca32757730461bd728cb7de430e46a0046aa59ab55c65be7ce3b";

describe("artifacts", () => {
  it("hashes like sha256sum", async () => {
    expect(await sha256Hex(bytes)).toBe(sha);
  });

  it("accepts a matching artifact and reports progress", async () => {
    const seen: number[] = [];
    const got = await loadVerified({ read: async (_a, p) => (p(bytes.length), bytes) }, "bios", { file: "bios.bin", size: bytes.length, sha256: sha }, (n) => seen.push(n));
    expect(got).toBe(bytes);
    expect(seen).toEqual([bytes.length]);
  });

  it("names the file and the problem for missing and corrupt artifacts", async () => {
    const missing = loadVerified({ read: () => Promise.reject(new Error("HTTP 404")) }, "bios", { file: "bios.bin", size: 1, sha256: sha }, () => undefined);
    await expect(missing).rejects.toMatchObject({ kind: "missing", file: "bios.bin" });
    const flipped = bytes.slice();
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    const corrupt = loadVerified({ read: async () => flipped }, "rootfs", { file: "rootfs.sparse.zst", size: bytes.length, sha256: sha }, () => undefined);
    await expect(corrupt).rejects.toBeInstanceOf(ArtifactError);
    await expect(corrupt).rejects.toMatchObject({ kind: "corrupt", file: "rootfs.sparse.zst" });
    const short = loadVerified({ read: async () => bytes.subarray(1) }, "rootfs", { file: "r", size: bytes.length, sha256: sha }, () => undefined);
    await expect(short).rejects.toThrow(/bytes, the manifest says/);
  });

  it("pads initramfs segments to 4 bytes", () => {
    const out = concatInitramfs([new Uint8Array([1, 2, 3, 4, 5]), new Uint8Array([6])]);
    expect([...out]).toEqual([1, 2, 3, 4, 5, 0, 0, 0, 6, 0, 0, 0]);
  });
});
