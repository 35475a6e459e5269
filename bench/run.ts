// `npm run bench`: what a user feels, measured in Debian's Chromium through the real page.
// Page open to an answering UML prompt per start mode (cold boot, snapshot restore, session resume) and
// kernel flavour, the bytes fetched before it, and how the disk reaches IndexedDB.
// `-- --quick` runs each figure once instead of three times; `-- --only=resume,disk` picks figures.
import { chromium, type Browser, type BrowserContext, type Page } from "@playwright/test";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { buildImages } from "../images/build.ts";
import type { ImageManifest } from "../workers/core/manifest.ts";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");
const port = 5190;
const runs = process.argv.includes("--quick") ? 1 : 3;
/** `--only=restore,disk`: just the figures whose names start with one of these. */
const only = process.argv.find((a) => a.startsWith("--only="))?.slice("--only=".length).split(",");
const wanted = (name: string): boolean => !only || only.some((prefix) => name.startsWith(prefix));
const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

interface Sample {
  promptMs: number;
  bytes: number;
  stageTimes: Record<string, number>;
  startKind?: string;
}

async function startServer(): Promise<ChildProcess> {
  const server = spawn("npx", ["vite", "--port", String(port), "--strictPort"], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/`)).ok) return server;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  server.kill();
  throw new Error("vite did not start");
}

/** Opens `url` in `context` and measures until the UML shell answers an `echo`. */
async function visit(context: BrowserContext, url: string): Promise<{ page: Page; sample: Sample }> {
  const page = await context.newPage();
  let bytes = 0;
  page.on("response", (r) => {
    void r.body().then((b) => (bytes += b.length)).catch(() => undefined);
  });
  const t0 = Date.now();
  await page.goto(url);
  try {
    await page.waitForFunction(() => window.umlab?.stage === "ready", undefined, { timeout: 240_000, polling: 50 });
  } catch (err) {
    const stage = await page.evaluate(() => window.umlab?.stage);
    const tail = (await page.evaluate(() => window.umlab?.readConsole("uml") ?? "")).split("\n").slice(-15).join("\n");
    throw new Error(`${url} did not reach a UML prompt (stage ${String(stage)}): ${String(err)}\nUML console:\n${tail}`, { cause: err });
  }
  await runInUml(page, "true");
  const promptMs = Date.now() - t0;
  const stageTimes = (await page.evaluate(() => window.umlab?.stageTimes ?? {})) as Record<string, number>;
  const startKind = await page.evaluate(() => window.umlab?.startKind);
  return { page, sample: { promptMs, bytes, stageTimes, ...(startKind ? { startKind } : {}) } };
}

/** Types `cmd` into UML and waits until it has finished (a token printed after it). */
async function runInUml(page: Page, cmd: string): Promise<void> {
  const token = `bench${Date.now()}`;
  await page.evaluate(([c, t]) => window.umlab?.typeInto("uml", `${c}; echo ${t.slice(0, 5)}""${t.slice(5)}\r`), [cmd, token] as const);
  await page.waitForFunction((t) => (window.umlab?.readConsole("uml") ?? "").includes(`\n${t}`), token, { timeout: 120_000, polling: 20 });
}

async function fresh(browser: Browser, url: string): Promise<Sample> {
  const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  try {
    return (await visit(context, url)).sample;
  } finally {
    await context.close();
  }
}

/** Save a session, close the tab, open the lab again: the page resumes it. */
async function resume(browser: Browser): Promise<Sample> {
  const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  try {
    const { page } = await visit(context, `http://127.0.0.1:${port}/`);
    await runInUml(page, "export BENCH=1");
    await page.evaluate(() => window.umlab?.saveSession("manual"));
    await page.close();
    const { sample } = await visit(context, `http://127.0.0.1:${port}/`);
    if (sample.startKind !== "resume") throw new Error(`expected a resume, the page did a ${String(sample.startKind)} start`);
    return sample;
  } finally {
    await context.close();
  }
}

interface DiskFigures {
  /** Duration of the commit that made a `sync` durable (the transaction itself). */
  commitAfterSyncMs: number;
  /** The 10 MB `dd` itself (into UML's page cache). */
  writeMs: number;
  /** From typing `sync` to the shell's answer: what the user waits for. */
  syncMs: number;
  /** Overlay bytes and IndexedDB usage growth after writing 10 MB of random data in UML. */
  overlayBytes10MB: number;
  storageUsageGrowth10MB: number;
}

async function diskFigures(browser: Browser): Promise<DiskFigures> {
  const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  try {
    const { page } = await visit(context, `http://127.0.0.1:${port}/`);
    await runInUml(page, "sync");
    const before = await page.evaluate(async () => (await navigator.storage.estimate()).usage ?? 0);
    const overlayBefore = (await page.evaluate(() => window.umlab?.diskStatus()))?.bytes ?? 0;
    const w0 = Date.now();
    await runInUml(page, "dd if=/dev/urandom of=/root/ten bs=1048576 count=10 2>/dev/null");
    const writeMs = Date.now() - w0;
    const t0 = Date.now();
    await runInUml(page, "sync");
    const syncMs = Date.now() - t0;
    const status = await page.evaluate(() => window.umlab?.diskStatus());
    const after = await page.evaluate(async () => (await navigator.storage.estimate()).usage ?? 0);
    return { commitAfterSyncMs: status?.lastCommitMs ?? NaN, writeMs, syncMs, overlayBytes10MB: (status?.bytes ?? 0) - overlayBefore, storageUsageGrowth10MB: after - before };
  } finally {
    await context.close();
  }
}

const stats = (xs: number[]): { median: number; min: number; max: number } => {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)] ?? NaN, min: s[0] ?? NaN, max: s[s.length - 1] ?? NaN };
};

async function main(): Promise<void> {
  await buildImages();
  const manifest = JSON.parse(await readFile(path.join(root, "images", "out", "manifest.json"), "utf8")) as ImageManifest;
  const server = await startServer();
  const browser = await chromium.launch({ executablePath: process.env.UMLAB_CHROMIUM ?? "/usr/bin/chromium", args: CHROMIUM_ARGS });
  const results: Record<string, { promptMs: ReturnType<typeof stats>; bytes: ReturnType<typeof stats>; samples: Sample[] }> = {};
  const disk: DiskFigures[] = [];
  const figure = async (name: string, measure: () => Promise<Sample>): Promise<void> => {
    if (!wanted(name)) return;
    const samples: Sample[] = [];
    for (let i = 0; i < runs; i++) {
      const s = await measure();
      console.log(`${name} #${i + 1}: prompt answered after ${(s.promptMs / 1000).toFixed(2)} s, ${(s.bytes / 1e6).toFixed(2)} MB fetched`);
      samples.push(s);
    }
    results[name] = { promptMs: stats(samples.map((s) => s.promptMs)), bytes: stats(samples.map((s) => s.bytes)), samples };
  };
  try {
    for (const kernel of ["lean", "debian"] as const) {
      await figure(`restore.${kernel}`, () => fresh(browser, `http://127.0.0.1:${port}/?kernel=${kernel}`));
      await figure(`coldBoot.${kernel}`, () => fresh(browser, `http://127.0.0.1:${port}/?kernel=${kernel}&boot=cold`));
    }
    await figure("resume.lean", () => resume(browser));
    for (let i = 0; i < (wanted("disk") ? runs : 0); i++) {
      const d = await diskFigures(browser);
      console.log(`disk #${i + 1}: dd of 10 MB took ${d.writeMs} ms, then sync ${d.syncMs} ms (commit ${d.commitAfterSyncMs} ms); 10 MB written = ${(d.overlayBytes10MB / 1e6).toFixed(2)} MB overlay, ${(d.storageUsageGrowth10MB / 1e6).toFixed(2)} MB storage`);
      disk.push(d);
    }
  } finally {
    await browser.close();
    server.kill();
  }
  const report = {
    date: new Date().toISOString(),
    machine: { cores: cpus().length, cpu: cpus()[0]?.model ?? "?" },
    chromium: browser.version(),
    v86: JSON.parse(await readFile(path.join(root, "node_modules", "v86", "package.json"), "utf8")).version as string,
    manifestInputsHash: manifest.inputsHash,
    runs,
    snapshots: Object.fromEntries(Object.entries(manifest.snapshots ?? {}).map(([k, v]) => [k, { compressed: v.size, raw: v.rawSize }])),
    results,
    disk: {
      commitAfterSyncMs: stats(disk.map((d) => d.commitAfterSyncMs)),
      writeMs: stats(disk.map((d) => d.writeMs)),
      syncMs: stats(disk.map((d) => d.syncMs)),
      overlayBytes10MB: stats(disk.map((d) => d.overlayBytes10MB)),
      storageUsageGrowth10MB: stats(disk.map((d) => d.storageUsageGrowth10MB)),
    },
  };
  const stamp = report.date.replace(/[:.]/g, "-");
  const dir = path.join(root, "bench", "results");
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, `${stamp}.json`), `${JSON.stringify(report, null, 2)}\n`);
  const md = [
    `# umlab bench ${report.date}`,
    "",
    `Machine: ${report.machine.cores} cores, ${report.machine.cpu}. Chromium ${report.chromium}, v86 ${report.v86}, images ${manifest.inputsHash.slice(0, 12)}. ${runs} run(s) per figure.`,
    "",
    "| figure | median | min | max |",
    "|---|---|---|---|",
    ...Object.entries(results).flatMap(([name, r]) => [
      `| ${name}: page open to answering prompt | ${(r.promptMs.median / 1000).toFixed(2)} s | ${(r.promptMs.min / 1000).toFixed(2)} s | ${(r.promptMs.max / 1000).toFixed(2)} s |`,
      `| ${name}: bytes fetched before the prompt | ${(r.bytes.median / 1e6).toFixed(2)} MB | ${(r.bytes.min / 1e6).toFixed(2)} MB | ${(r.bytes.max / 1e6).toFixed(2)} MB |`,
    ]),
    `| disk: \`sync\` after writing 10 MB, typed to answered | ${report.disk.syncMs.median} ms | ${report.disk.syncMs.min} ms | ${report.disk.syncMs.max} ms |`,
    `| disk: the IndexedDB commit that made it durable | ${report.disk.commitAfterSyncMs.median} ms | ${report.disk.commitAfterSyncMs.min} ms | ${report.disk.commitAfterSyncMs.max} ms |`,
    `| disk: overlay bytes after writing 10 MB | ${(report.disk.overlayBytes10MB.median / 1e6).toFixed(2)} MB | ${(report.disk.overlayBytes10MB.min / 1e6).toFixed(2)} MB | ${(report.disk.overlayBytes10MB.max / 1e6).toFixed(2)} MB |`,
    `| disk: browser storage growth after writing 10 MB | ${(report.disk.storageUsageGrowth10MB.median / 1e6).toFixed(2)} MB | ${(report.disk.storageUsageGrowth10MB.min / 1e6).toFixed(2)} MB | ${(report.disk.storageUsageGrowth10MB.max / 1e6).toFixed(2)} MB |`,
    "",
    `Snapshots: ${Object.entries(report.snapshots).map(([k, v]) => `${k} ${(v.compressed / 1e6).toFixed(2)} MB (${(v.raw ?? 0) / 1e6} MB raw)`).join(", ")}.`,
    "",
  ].join("\n");
  await writeFile(path.join(dir, `${stamp}.md`), md);
  console.log(`\n${md}\nwritten to bench/results/${stamp}.{json,md}`);
}

main().catch((err: unknown) => {
  console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
