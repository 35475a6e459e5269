// The production build (what `npm run build` deploys and the bench serves) ships v86's wasm gzipped only,
// and the preview Service Worker as a classic script at the root.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { build } from "vite";
import { afterAll, beforeAll, expect, it } from "vitest";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");
const outDir = mkdtempSync(path.join(tmpdir(), "umlab-build-test-"));
beforeAll(async () => {
  await build({ root, logLevel: "silent", build: { outDir, emptyOutDir: true, sourcemap: false } });
}, 120_000);
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

it("emits v86.wasm gzipped, referenced by the worker, and no raw copy", () => {
  const assets = readdirSync(path.join(outDir, "assets"));
  const gz = assets.filter((f) => /^v86\.wasm-.*\.gz$/.test(f));
  expect(gz).toHaveLength(1);
  expect(assets.filter((f) => f.endsWith(".wasm"))).toEqual([]);
  const inflated = gunzipSync(readFileSync(path.join(outDir, "assets", gz[0] ?? "")));
  expect(inflated.equals(readFileSync(path.join(root, "node_modules", "v86", "build", "v86.wasm")))).toBe(true);
  const worker = assets.filter((f) => /worker.*\.js$/.test(f)).map((f) => readFileSync(path.join(outDir, "assets", f), "utf8"));
  expect(worker.some((code) => code.includes(gz[0] ?? "?"))).toBe(true);
});

it("emits the preview Service Worker as guest-sw.js at the root, a script without module syntax", () => {
  const file = path.join(outDir, "guest-sw.js");
  expect(existsSync(file)).toBe(true);
  const code = readFileSync(file, "utf8");
  expect(code).toContain("umlab-guest-http");
  expect(code).toContain("Open the lab");
  // Registered as a classic worker: an import or export statement would fail to load.
  expect(code).not.toMatch(/^\s*(import|export)\b/m);
  expect(() => new Function(code)).not.toThrow();
});
