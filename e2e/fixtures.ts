// Typed fixtures for driving the umlab page: boot it, type into a console, wait for console text.
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium, test as base, expect, type BrowserContext, type Page } from "@playwright/test";
import type { BootStage, ConsoleId, ImageManifest } from "../workers/api.ts";
import { baseURL, chromiumArgs, chromiumExecutable } from "./chromium.ts";

export { expect };

/**
 * How long a cold boot may take in the tests. Usually 15-40 s; a loaded machine is much slower, and an
 * uploaded kernel built with VMAP_STACK can wedge and be restarted by the host's watchdog (docs/boot.md).
 */
export const COLD_BOOT_MS = 360_000;

export interface UmlabPage {
  page: Page;
  /** Polls until the page reports `stage`. */
  waitForStage(stage: BootStage, timeoutMs?: number): Promise<void>;
  /** Polls the console's text (scrollback included) until it matches. */
  waitForText(id: ConsoleId, pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Types a line and waits for `pattern` in the output that follows it. */
  run(id: ConsoleId, line: string, pattern: RegExp, timeoutMs?: number): Promise<string>;
  type(id: ConsoleId, text: string): Promise<void>;
  readConsole(id: ConsoleId): Promise<string>;
  manifest(): Promise<ImageManifest>;
  /** Runs `cmd` in UML and returns the line it printed between two markers (e.g. a checksum). */
  capture(cmd: string, timeoutMs?: number): Promise<string>;
}

export function umlabPage(page: Page): UmlabPage {
  const readConsole = (id: ConsoleId): Promise<string> => page.evaluate((c) => window.umlab?.readConsole(c) ?? "", id);
  // A failed wait says what the guest was doing: the consoles' last lines and UML's state.
  const explain = async (err: unknown): Promise<Error> => {
    const tail = async (id: ConsoleId): Promise<string> => (await readConsole(id).catch(() => "")).split("\n").filter((l) => l.trim()).slice(-15).join("\n");
    const state = await page.evaluate(async () => JSON.stringify((await window.umlab?.umlState())?.state ?? null)).catch(() => "unknown");
    return new Error(`${err instanceof Error ? err.message : String(err)}\n--- UML state: ${state}\n--- UML console ---\n${await tail("uml")}\n--- host console ---\n${await tail("host")}`, { cause: err });
  };
  const api: UmlabPage = {
    page,
    readConsole,
    async waitForStage(stage, timeoutMs = 120_000) {
      await expect
        .poll(() => page.evaluate(() => window.umlab?.stage), { timeout: timeoutMs, message: `waiting for boot stage "${stage}"` })
        .toBe(stage)
        .catch(async (err: unknown) => Promise.reject(await explain(err)));
    },
    async waitForText(id, pattern, timeoutMs = 30_000) {
      let text = "";
      await expect
        .poll(async () => {
          text = await readConsole(id);
          return pattern.test(text);
        }, { timeout: timeoutMs, message: `waiting for ${pattern} on the ${id} console` })
        .toBe(true)
        .catch(async (err: unknown) => Promise.reject(await explain(err)));
      return text;
    },
    async type(id, text) {
      await page.evaluate(([c, t]) => window.umlab?.typeInto(c, t), [id, text] as const);
    },
    async run(id, line, pattern, timeoutMs = 30_000) {
      const before = (await readConsole(id)).length;
      await api.type(id, `${line}\r`);
      let tail = "";
      await expect
        .poll(async () => {
          tail = (await readConsole(id)).slice(Math.max(0, before - 200));
          return pattern.test(tail);
        }, { timeout: timeoutMs, message: `waiting for ${pattern} after "${line}" on the ${id} console` })
        .toBe(true)
        .catch(async (err: unknown) => Promise.reject(await explain(err)));
      return tail;
    },
    async capture(cmd, timeoutMs = 60_000) {
      const tag = `M${Math.random().toString(36).slice(2, 8)}`;
      // The markers are printed by the shell, not echoed, so the typed command line never matches.
      const out = await api.run("uml", `echo ${tag}$(printf :); ${cmd}; echo $(printf :)${tag}`, new RegExp(`${tag}:\\n([^]*?)\\n:${tag}`), timeoutMs);
      const match = new RegExp(`${tag}:\\n([^]*?)\\n:${tag}`).exec(out);
      return (match?.[1] ?? "").trim();
    },
    async manifest() {
      const response = await page.request.get("/images/manifest.json");
      expect(response.ok()).toBe(true);
      return (await response.json()) as ImageManifest;
    },
  };
  return api;
}

/** A browser with its own profile directory, so a test can kill it and open the same storage again. */
export interface Profile {
  dir: string;
  open(): Promise<BrowserContext>;
  /** SIGKILLs every process of the browser using this profile: no unload, no clean shutdown. */
  kill(): Promise<void>;
}

export async function withProfile<T>(fn: (profile: Profile) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(tmpdir(), "umlab-profile-"));
  const contexts: BrowserContext[] = [];
  try {
    return await fn({
      dir,
      open: async () => {
        const context = await chromium.launchPersistentContext(dir, { executablePath: chromiumExecutable, args: chromiumArgs, headless: true, baseURL, viewport: { width: 1200, height: 800 } });
        contexts.push(context);
        return context;
      },
      kill: async () => {
        const ps = execFileSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" });
        const pids = ps.split("\n").filter((line) => line.includes(`--user-data-dir=${dir}`)).map((line) => Number(line.trim().split(/\s+/)[0]));
        if (pids.length === 0) throw new Error(`no browser process uses ${dir}`);
        for (const pid of pids) {
          try {
            process.kill(pid, "SIGKILL");
          } catch {
            // already gone with its parent
          }
        }
        for (const c of contexts.splice(0)) await c.close().catch(() => undefined);
      },
    });
  } finally {
    for (const c of contexts) await c.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * A plain HTTP server on 127.0.0.1 for the guest to reach: UML sees it at 10.0.2.2:<port> (the fetch
 * transport maps the gateway to the browser's localhost). Every response allows any origin, so the
 * fetch path (a page's fetch is bound by CORS) works as well as the relay.
 */
export interface HttpPeer {
  port: number;
  /** http://127.0.0.1:<port>, as the test process reaches it. */
  origin: string;
  /** A small HTML page whose body contains `text`. */
  page: { path: string; text: string };
  /** Random bytes, the same for every request during the run. */
  blob: { path: string; bytes: number; sha256: string };
  /** "METHOD path" of every request served so far, oldest first. */
  requests: string[];
}

export const HTTP_PEER_BLOB_BYTES = 1 << 20;

async function startHttpPeer(): Promise<{ peer: HttpPeer; server: Server }> {
  const blob = randomBytes(HTTP_PEER_BLOB_BYTES);
  const pageText = `hello-from-peer-${blob.subarray(0, 4).toString("hex")}`;
  const html = Buffer.from(`<!doctype html><title>umlab test peer</title><p>${pageText}</p>\n`);
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://peer").pathname;
    requests.push(`${req.method ?? "?"} ${path}`);
    res.setHeader("Access-Control-Allow-Origin", "*");
    res.setHeader("Cache-Control", "no-store");
    if (req.method === "OPTIONS") {
      res.writeHead(204, { "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS", "Access-Control-Allow-Headers": "*" });
      return res.end();
    }
    const body = path === "/" || path === "/index.html" ? { bytes: html, type: "text/html; charset=utf-8" } : path === "/blob.bin" ? { bytes: blob, type: "application/octet-stream" } : undefined;
    if (!body || (req.method !== "GET" && req.method !== "HEAD")) {
      res.writeHead(body ? 405 : 404, { "Content-Type": "text/plain" });
      return res.end(body ? "method not allowed\n" : `no such file: ${path}\n`);
    }
    res.writeHead(200, { "Content-Type": body.type, "Content-Length": String(body.bytes.length) });
    res.end(req.method === "HEAD" ? undefined : body.bytes);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    server,
    peer: {
      port,
      origin: `http://127.0.0.1:${port}`,
      page: { path: "/", text: pageText },
      blob: { path: "/blob.bin", bytes: blob.length, sha256: createHash("sha256").update(blob).digest("hex") },
      requests,
    },
  };
}

/** One booted page shared by the tests of a file: booting is the slow part. */
export const test = base.extend<object, { booted: UmlabPage; bootPath: string; httpPeer: HttpPeer }>({
  /** The address the shared page opens; the boot specs ask for a cold boot. */
  bootPath: ["/", { scope: "worker", option: true }],
  booted: [
    async ({ browser, bootPath }, use) => {
      // Its own context (not browser.newPage()), so a test can open more pages beside the lab, e.g. a preview tab.
      const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
      const page = await context.newPage();
      await page.goto(bootPath);
      const umlab = umlabPage(page);
      await umlab.waitForStage("ready", bootPath.includes("boot=cold") ? COLD_BOOT_MS : 120_000);
      await use(umlab);
      await context.close();
    },
    { scope: "worker", timeout: COLD_BOOT_MS + 60_000 },
  ],
  httpPeer: [
    // eslint-disable-next-line no-empty-pattern -- Playwright reads a fixture's dependencies from this pattern; the peer has none
    async ({}, use) => {
      const { peer, server } = await startHttpPeer();
      await use(peer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    { scope: "worker" },
  ],
});
