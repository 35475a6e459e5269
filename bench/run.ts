// `npm run bench`: what a user feels, measured in Debian's Chromium through the real page.
// For now: page open to an answering UML prompt per kernel flavour, and the bytes fetched before it.
// `-- --quick` runs each figure once instead of three times.
import { chromium, type Browser } from "@playwright/test";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { buildImages } from "../images/build.ts";
import type { ImageManifest, KernelFlavour } from "../workers/core/manifest.ts";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");
const port = 5190;
const runs = process.argv.includes("--quick") ? 1 : 3;
const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

interface Sample {
  promptMs: number;
  bytes: number;
  stageTimes: Record<string, number>;
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

/** One cold visit: a fresh browser context, page open until the UML shell answers `echo`. */
async function coldBoot(browser: Browser, kernel: KernelFlavour): Promise<Sample> {
  const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  const page = await context.newPage();
  let bytes = 0;
  page.on("response", (r) => {
    void r.body().then((b) => (bytes += b.length)).catch(() => undefined);
  });
  const t0 = Date.now();
  await page.goto(`http://127.0.0.1:${port}/?kernel=${kernel}`);
  try {
    await page.waitForFunction(() => window.umlab?.stage === "ready", undefined, { timeout: 240_000, polling: 50 });
  } catch (err) {
    const stage = await page.evaluate(() => window.umlab?.stage);
    const tail = (await page.evaluate(() => window.umlab?.readConsole("uml") ?? "")).split("\n").slice(-15).join("\n");
    throw new Error(`${kernel} did not reach a UML prompt (stage ${String(stage)}): ${String(err)}\nUML console:\n${tail}`, { cause: err });
  }
  const token = `bench${Date.now()}`;
  await page.evaluate((t) => window.umlab?.typeInto("uml", `echo ${t.slice(0, 5)}""${t.slice(5)}\r`), token);
  await page.waitForFunction((t) => (window.umlab?.readConsole("uml") ?? "").includes(`\n${t}`), token, { timeout: 60_000, polling: 20 });
  const promptMs = Date.now() - t0;
  const stageTimes = (await page.evaluate(() => window.umlab?.stageTimes ?? {})) as Record<string, number>;
  await context.close();
  return { promptMs, bytes, stageTimes };
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
  try {
    for (const kernel of ["lean", "debian"] as const) {
      const samples: Sample[] = [];
      for (let i = 0; i < runs; i++) {
        const s = await coldBoot(browser, kernel);
        console.log(`cold boot ${kernel} #${i + 1}: prompt answered after ${(s.promptMs / 1000).toFixed(2)} s, ${(s.bytes / 1e6).toFixed(2)} MB fetched`);
        samples.push(s);
      }
      results[`coldBoot.${kernel}`] = { promptMs: stats(samples.map((s) => s.promptMs)), bytes: stats(samples.map((s) => s.bytes)), samples };
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
    results,
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
    "",
  ].join("\n");
  await writeFile(path.join(dir, `${stamp}.md`), md);
  console.log(`\n${md}\nwritten to bench/results/${stamp}.{json,md}`);
}

main().catch((err: unknown) => {
  console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
