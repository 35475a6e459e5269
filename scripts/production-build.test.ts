// The production build (what `npm run build` deploys and the bench serves) ships v86's wasm gzipped only.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { build } from "vite";
import { afterAll, expect, it } from "vitest";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");
const outDir = mkdtempSync(path.join(tmpdir(), "umlab-build-test-"));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

it("emits v86.wasm gzipped, referenced by the worker, and no raw copy", async () => {
  await build({ root, logLevel: "silent", build: { outDir, emptyOutDir: true, sourcemap: false } });
  const assets = readdirSync(path.join(outDir, "assets"));
  const gz = assets.filter((f) => /^v86\.wasm-.*\.gz$/.test(f));
  expect(gz).toHaveLength(1);
  expect(assets.filter((f) => f.endsWith(".wasm"))).toEqual([]);
  const inflated = gunzipSync(readFileSync(path.join(outDir, "assets", gz[0] ?? "")));
  expect(inflated.equals(readFileSync(path.join(root, "node_modules", "v86", "build", "v86.wasm")))).toBe(true);
  const worker = assets.filter((f) => /worker.*\.js$/.test(f)).map((f) => readFileSync(path.join(outDir, "assets", f), "utf8"));
  expect(worker.some((code) => code.includes(gz[0] ?? "?"))).toBe(true);
}, 120_000);
