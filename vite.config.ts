// Vite serves the page, bundles the emulator worker, and serves the built images under /images/.
import { createReadStream, existsSync, readFileSync, statSync } from "node:fs";
import { cp } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { transformWithEsbuild, type Connect, type Plugin } from "vite";
import { defineConfig } from "vitest/config";
import { umlabWisp } from "./scripts/wisp-relay.ts";

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
      if (options.dir && existsSync(imagesOut)) await cp(imagesOut, path.join(options.dir, "images"), { recursive: true, filter: (src) => !src.endsWith(".map") }); // symbol maps are for `umlab profile` only
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

/** What the server says for /guest/… when no Service Worker answered: the preview lives in the lab tab. */
function previewWithoutWorker(): Connect.NextHandleFunction {
  return (_req, res) => {
    res.statusCode = 503;
    res.setHeader("Content-Type", "text/plain; charset=utf-8");
    res.setHeader("Cache-Control", "no-store");
    res.end("Open the lab: the preview is served by the UML running in it.\n\nThis address is answered by the lab page's Service Worker, which is not installed in this browser yet. Open the umlab page (/), wait for UML to be ready, then reload this address.\n");
  };
}

/**
 * The preview Service Worker, sw/guest-sw.ts, as one classic script at /guest-sw.js: transformed on each
 * request in dev, emitted at the root of dist in a build (its scope /guest/ must lie under its own path).
 */
function guestServiceWorker(): Plugin {
  const source = path.join(root, "sw", "guest-sw.ts");
  const compile = async (minify: boolean): Promise<string> =>
    (await transformWithEsbuild(readFileSync(source, "utf8"), source, { loader: "ts", format: "iife", target: "es2022", minify })).code;
  let serving = false;
  return {
    name: "umlab-guest-sw",
    configResolved(config) {
      serving = config.command === "serve";
    },
    configureServer(server) {
      server.middlewares.use("/guest-sw.js", (_req, res, next) => {
        compile(false).then(
          (code) => {
            res.setHeader("Content-Type", "text/javascript; charset=utf-8");
            res.setHeader("Cache-Control", "no-cache");
            res.end(code);
          },
          (err: unknown) => next(err),
        );
      });
      server.middlewares.use("/guest/", previewWithoutWorker());
    },
    configurePreviewServer(server) {
      server.middlewares.use("/guest/", previewWithoutWorker());
    },
    async generateBundle() {
      if (!serving) this.emitFile({ type: "asset", fileName: "guest-sw.js", source: await compile(true) });
    },
  };
}

export default defineConfig({
  // umlabWisp: the guest's TCP relay at /wisp/, on loopback only (scripts/wisp-relay.ts, docs/networking.md).
  plugins: [umlabImages(), v86WasmGz(), guestServiceWorker(), umlabWisp()],
  // The worker is bundled on its own, with its own plugins.
  worker: { format: "es", plugins: () => [v86WasmGz()] },
  server: { host: "127.0.0.1", port: 5173, strictPort: false },
  preview: { host: "127.0.0.1", port: 4173 },
  build: { target: "es2022", sourcemap: true },
  test: {
    include: ["{src,sw,workers,cli,images,scripts,bench}/**/*.test.ts"],
    environment: "node",
    // A native UML's close() waits up to 30 s for halt before it kills UML: a hook cut short at vitest's
    // default 10 s left that UML spinning after the run.
    hookTimeout: 60_000,
  },
});
