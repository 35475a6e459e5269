import { describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync, chmodSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { hashTree } from "./hash.ts";

describe("hashTree", () => {
  it("changes with content, names and the executable bit, not with time", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "umlab-hash-"));
    mkdirSync(path.join(dir, "sub"));
    writeFileSync(path.join(dir, "sub", "a.sh"), "echo a\n");
    const first = await hashTree(dir);
    writeFileSync(path.join(dir, "sub", "a.sh"), "echo a\n");
    expect(await hashTree(dir)).toBe(first);
    chmodSync(path.join(dir, "sub", "a.sh"), 0o755);
    const exec = await hashTree(dir);
    expect(exec).not.toBe(first);
    writeFileSync(path.join(dir, "sub", "a.sh"), "echo b\n");
    expect(await hashTree(dir)).not.toBe(exec);
  });
});
