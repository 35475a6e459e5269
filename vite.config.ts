// Vite serves the page, bundles the emulator worker, and serves the built images under /images/.
import { createReadStream, existsSync, readFileSync, statSync } from "node:fs";
import { cp } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import type { Connect, Plugin } from "vite";
import { defineConfig } from "vitest/config";

const root = path.dirname(fileURLToPath(import.meta.url));
const imagesOut = path.join(root, "images", "out");

/** Streams files from images/out; they are content-addressed, so cache headers are left to the ?v= query. */
function serveImages(): Connect.NextHandleFunction {
  return (req, res, next) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const rel = decodeURIComponent(url.pathname).replace(/^\/+/, "");
    const file = path.join(imagesOut, rel);
    if (!file.startsWith(imagesOut + path.sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.statusCode = 404;
      res.setHeader("Content-Type", "text/plain");
      res.end(existsSync(imagesOut) ? `not found: ${rel}` : "images/out does not exist: run npm run images");
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") return next();
    res.setHeader("Content-Length", String(statSync(file).size));
    res.setHeader("Content-Type", file.endsWith(".json") ? "application/json" : "application/octet-stream");
    res.setHeader("Cache-Control", url.searchParams.has("v") ? "public, max-age=31536000, immutable" : "no-cache");
    if (req.method === "HEAD") return res.end();
    createReadStream(file).pipe(res);
  };
}

function umlabImages(): Plugin {
  return {
    name: "umlab-images",
    configureServer(server) {
      server.middlewares.use("/images", serveImages());
    },
    configurePreviewServer(server) {
      server.middlewares.use("/images", serveImages());
    },
    async writeBundle(options) {
      if (options.dir && existsSync(imagesOut)) await cp(imagesOut, path.join(options.dir, "images"), { recursive: true });
    },
  };
}

/**
 * `virtual:v86-wasm-gz`: the URL of v86.wasm gzipped at build time, which the worker inflates itself. The
 * first visit then moves 0.4 MB instead of 2.1 MB, whether or not the server compresses responses.
 */
function v86WasmGz(): Plugin {
  const id = "virtual:v86-wasm-gz";
  const devPath = "/@umlab/v86.wasm.gz";
  let gz: Buffer | undefined;
  const compressed = (): Buffer => (gz ??= gzipSync(readFileSync(path.join(root, "node_modules", "v86", "build", "v86.wasm")), { level: 9 }));
  let serving = false;
  return {
    name: "umlab-v86-wasm-gz",
    configResolved(config) {
      serving = config.command === "serve";
    },
    resolveId(source) {
      return source === id ? `\0${id}` : undefined;
    },
    load(resolved) {
      if (resolved !== `\0${id}`) return undefined;
      if (serving) return `export default ${JSON.stringify(devPath)};`;
      const ref = this.emitFile({ type: "asset", name: "v86.wasm.gz", source: compressed() });
      return `export default import.meta.ROLLUP_FILE_URL_${ref};`;
    },
    configureServer(server) {
      server.middlewares.use(devPath, (_req, res) => {
        // Plain bytes, no Content-Encoding: the browser must not inflate them before the worker does.
        res.setHeader("Content-Type", "application/octet-stream");
        res.end(compressed());
      });
    },
  };
}

export default defineConfig({
  plugins: [umlabImages(), v86WasmGz()],
  // The worker is bundled on its own, with its own plugins.
  worker: { format: "es", plugins: () => [v86WasmGz()] },
  server: { host: "127.0.0.1", port: 5173, strictPort: false },
  preview: { host: "127.0.0.1", port: 4173 },
  build: { target: "es2022", sourcemap: true },
  test: {
    include: ["{src,workers,cli,images,scripts,bench}/**/*.test.ts"],
    environment: "node",
  },
});
