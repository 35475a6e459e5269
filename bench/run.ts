// `npm run bench`: what a user of umlab feels, measured in Debian's Chromium through the real page (a
// production build served by `vite preview`), beside peers measured in the same run on the same machine:
// UML run natively, and the host Linux in v86. Writes bench/results/<date>.json and .md.
// `-- --quick` runs each figure once instead of three times; `-- --only=restore,micro` picks figures.
import { chromium, type Browser, type BrowserContext, type Page } from "@playwright/test";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { get as httpGet } from "node:http";
import { cpus, release, tmpdir, totalmem } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build, preview } from "vite";
import { buildImages } from "../images/build.ts";
import { ensureDebianPackages } from "../images/pipeline/packages.ts";
import { Progress } from "../images/pipeline/progress.ts";
import type { ImageManifest } from "../workers/core/manifest.ts";
import type { ConsoleId } from "../workers/api.ts";
import { markedCommand, NATIVE_PARAMS, outputBetween, probeAnswers, runMicro, START_PROBE, V86_PARAMS, type MicroResult, type Shell } from "./micro.ts";
import { startNativeUml } from "../cli/native-uml.ts";
import { browserMemory, type BrowserMemory } from "./memory.ts";
import { measureNetwork, startLoopbackServer, type LoopbackServer, type NetworkSample } from "./network.ts";
import { countBootRestarts, formatRatio, ratio, stats, statsByField, statsRow, type Ratio, type Stats } from "./report.ts";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");
const port = 5190;
const base = `http://127.0.0.1:${port}`;
const quick = process.argv.includes("--quick");
const runs = quick ? 1 : 3;
/** `--only=restore,micro`: just the figures whose names start with one of these. */
const only = process.argv.find((a) => a.startsWith("--only="))?.slice("--only=".length).split(",");
const wanted = (name: string): boolean => !only || only.some((prefix) => name.startsWith(prefix));
const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
/** How often the start figures look at the page. */
const POLL_MS = 10;
/** Quiet time after the prompt before memory is read, so boot-time garbage has been collected. */
const IDLE_MS = 5000;

interface StartSample {
  promptMs: number;
  /** Bytes on the wire (bodies and headers) from page open to the answering prompt. */
  bytes: number;
  bytesByKind: Record<string, number>;
  stageTimes: Record<string, number>;
  startKind?: string;
  /** Times the host's boot watchdog restarted a wedged UML before the prompt answered. */
  umlRestarts: number;
}

/** Builds the page for production and serves it with `vite preview`, as a deployed lab would be. */
async function startServer(): Promise<{ close: () => Promise<void> }> {
  const dist = await mkdtemp(path.join(tmpdir(), "umlab-bench-dist-"));
  await build({ root, logLevel: "warn", build: { outDir: dist, emptyOutDir: true } });
  const server = await preview({ root, logLevel: "warn", build: { outDir: dist }, preview: { port, strictPort: true } });
  return {
    close: async () => {
      await server.close();
      await rm(dist, { recursive: true, force: true });
    },
  };
}

/** What a URL is, for the bytes breakdown: an image artifact by name, else the page's code by type. */
function kindOf(url: string): string {
  const { pathname } = new URL(url);
  const image = /\/images\/([a-z]+(?:-[a-z]+)?)/.exec(pathname)?.[1];
  if (image) return image;
  // Built assets are named <name>.<ext>-<hash>.<ext2>, e.g. v86.wasm-<hash>.gz.
  return /\.wasm\b/.test(pathname) ? "wasm" : (/\.(js|css)$/.exec(pathname)?.[1] ?? "other");
}

/** The body bytes a GET of `url` carries on the wire, as compressed as the server sends it to Chromium. */
function wireBytes(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = httpGet(url, { headers: { "accept-encoding": "gzip, deflate, br, zstd" } }, (response) => {
      let bytes = 0;
      response.on("data", (chunk: Buffer) => (bytes += chunk.length));
      response.on("end", () => resolve(bytes));
      response.on("error", reject);
    });
    request.on("error", reject);
  });
}

/** Opens `url` in `context` and measures until the UML shell answers a command. */
async function visit(context: BrowserContext, url: string): Promise<{ page: Page; sample: StartSample }> {
  const page = await context.newPage();
  const sizes: Promise<void>[] = [];
  const bytesByKind: Record<string, number> = {};
  page.on("requestfinished", (request) => {
    sizes.push(
      request.sizes().then(async (s) => {
        const kind = kindOf(request.url());
        // Chromium reports no body size for a worker's own script (nor the service worker's): those bytes
        // are measured by fetching the file again from the same server, compressed as the browser gets it.
        const body = s.responseBodySize > 0 || !request.url().startsWith("http:") ? s.responseBodySize : await wireBytes(request.url()).catch(() => 0);
        bytesByKind[kind] = (bytesByKind[kind] ?? 0) + body + s.responseHeadersSize;
      }, () => undefined),
    );
  });
  const t0 = Date.now();
  await page.goto(url);
  try {
    // Polled often: each poll's wait up to the next one is in the figure.
    await page.waitForFunction(() => window.umlab?.stage === "ready", undefined, { timeout: 300_000, polling: POLL_MS });
  } catch (err) {
    const stage = await page.evaluate(() => window.umlab?.stage);
    const tail = (await page.evaluate(() => window.umlab?.readConsole("uml") ?? "")).split("\n").slice(-15).join("\n");
    throw new Error(`${url} did not reach a UML prompt (stage ${String(stage)}): ${String(err)}\nUML console:\n${tail}`, { cause: err });
  }
  await firstAnswer(page);
  const promptMs = Date.now() - t0;
  await Promise.all(sizes);
  const bytes = Object.values(bytesByKind).reduce((a, b) => a + b, 0);
  const stageTimes = (await page.evaluate(() => window.umlab?.stageTimes ?? {})) as Record<string, number>;
  const startKind = await page.evaluate(() => window.umlab?.startKind);
  const umlRestarts = countBootRestarts(await page.evaluate(() => window.umlab?.readConsole("uml") ?? ""));
  return { page, sample: { promptMs, bytes, bytesByKind, stageTimes, ...(startKind ? { startKind } : {}), umlRestarts } };
}

/** Types START_PROBE at the UML prompt and waits until its output is on the screen. */
async function firstAnswer(page: Page): Promise<void> {
  const transcript = (): Promise<string> => page.evaluate(() => window.umlab?.readConsole("uml") ?? "");
  const before = probeAnswers(await transcript());
  await page.evaluate((line) => window.umlab?.typeInto("uml", `${line}\r`), START_PROBE);
  const deadline = Date.now() + 120_000;
  while (probeAnswers(await transcript()) <= before) {
    if (Date.now() > deadline) throw new Error(`UML did not answer ${START_PROBE} within 120 s`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** A console of the page as a Shell: types the command with marker echoes and reads the terminal. */
function pageShell(page: Page, id: ConsoleId): Shell {
  let n = 0;
  return {
    async run(cmd: string, timeoutMs = 120_000): Promise<string> {
      const marked = markedCommand(cmd, `pg${Date.now()}x${n++}`);
      await page.evaluate(([c, line]) => window.umlab?.typeInto(c, `${line}\r`), [id, marked.line] as const);
      const handle = await page.waitForFunction(
        ([c, b, e]) => {
          const text = (window.umlab?.readConsole(c) ?? "").replace(/\r/g, "");
          const at = text.lastIndexOf(`\n${b}\n`);
          return at >= 0 && text.indexOf(`\n${e}`, at) >= 0 ? text : false;
        },
        [id, marked.begin, marked.end] as const,
        { timeout: timeoutMs, polling: 20 },
      );
      const transcript = await handle.jsonValue();
      return outputBetween(typeof transcript === "string" ? transcript : "", marked.begin, marked.end) ?? "";
    },
  };
}

async function inFreshContext<T>(browser: Browser, use: (context: BrowserContext) => Promise<T>): Promise<T> {
  const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  try {
    return await use(context);
  } finally {
    await context.close();
  }
}

/** Save a session, close the tab, open the lab again: the page resumes it. */
async function resume(browser: Browser): Promise<StartSample> {
  return inFreshContext(browser, async (context) => {
    const { page } = await visit(context, `${base}/`);
    await pageShell(page, "uml").run("export BENCH=1");
    await page.evaluate(() => window.umlab?.saveSession("manual"));
    await page.close();
    const { sample } = await visit(context, `${base}/`);
    if (sample.startKind !== "resume") throw new Error(`expected a resume, the page did a ${String(sample.startKind)} start`);
    return sample;
  });
}

interface PageMicro {
  uml: MicroResult;
  host: MicroResult;
  memory: BrowserMemory;
  /** The IndexedDB transaction that made the 16 MiB write durable, and the overlay bytes it left. */
  commitMs: number;
  overlayBytes16MiB: number;
}

/** One restored tab: memory at idle, then the microbenchmarks in UML and on the host. */
async function pageMicro(browser: Browser): Promise<PageMicro> {
  return inFreshContext(browser, async (context) => {
    const { page } = await visit(context, `${base}/`);
    await new Promise((r) => setTimeout(r, IDLE_MS));
    const memory = await browserMemory();
    const uml = pageShell(page, "uml");
    const host = pageShell(page, "host");
    const overlayBefore = (await page.evaluate(() => window.umlab?.diskStatus()))?.bytes ?? 0;
    let commitMs = NaN;
    let overlayBytes16MiB = NaN;
    const umlResult = await runMicro(uml, V86_PARAMS, {
      dropOuterCaches: async () => void (await host.run("sync; echo 3 > /proc/sys/vm/drop_caches")),
      afterWrite: async () => {
        const status = await page.evaluate(() => window.umlab?.diskStatus());
        commitMs = status?.lastCommitMs ?? NaN;
        overlayBytes16MiB = (status?.bytes ?? NaN) - overlayBefore;
      },
    });
    const hostResult = await runMicro(host, { ...V86_PARAMS, diskMiB: 0 });
    return { uml: umlResult, host: hostResult, memory, commitMs, overlayBytes16MiB };
  });
}

/**
 * The network figures, each in a fresh tab: UML through the page's fetch transport and through the Wisp
 * relay; the host Linux through fetch too; and the host Linux through v86's own fetch backend (the peer),
 * which reaches the loopback server as http://<port>.external.
 */
async function pageNetwork(browser: Browser, server: LoopbackServer): Promise<Record<string, NetworkSample>> {
  const loopback = `http://10.0.2.2:${server.port}`;
  const relay = `ws://127.0.0.1:${port}/wisp/`;
  const samples: Record<string, NetworkSample> = {};
  const inTab = (url: string, measure: (page: Page) => Promise<void>): Promise<void> => inFreshContext(browser, async (context) => measure((await visit(context, url)).page));
  await inTab(`${base}/?relay=none`, async (page) => {
    samples["uml.fetch"] = await measureNetwork(pageShell(page, "uml"), loopback);
    samples["host.fetch"] = await measureNetwork(pageShell(page, "host"), loopback);
  });
  await inTab(`${base}/?relay=${encodeURIComponent(relay)}`, async (page) => {
    samples["uml.relay"] = await measureNetwork(pageShell(page, "uml"), loopback);
  });
  await inTab(`${base}/?relay=none&net=v86-fetch`, async (page) => {
    const host = pageShell(page, "host");
    // v86's backend has its own DHCP server and addresses (192.168.86.0/24): take a lease from it.
    await host.run("route del default 2>/dev/null; udhcpc -i br0 -n -q -s /usr/share/udhcpc/default.script >/dev/null 2>&1; ip route replace default via 192.168.86.1 dev br0");
    samples["host.v86-fetch"] = await measureNetwork(host, `http://${server.port}.external`);
  });
  return samples;
}

interface Machine {
  cores: number;
  cpu: string;
  memoryGiB: number;
  kernel: string;
}

async function main(): Promise<void> {
  // A fresh machine has no Chromium yet: the same install as the end-to-end tests' (a no-op when present).
  if (!process.env.UMLAB_CHROMIUM) await ensureDebianPackages(path.join(root, "e2e", "debian-packages.txt"), new Progress());
  const stepDirs = await buildImages();
  const manifest = JSON.parse(await readFile(path.join(root, "images", "out", "manifest.json"), "utf8")) as ImageManifest;
  const server = await startServer();
  const browser = await chromium.launch({ executablePath: process.env.UMLAB_CHROMIUM ?? "/usr/bin/chromium", args: CHROMIUM_ARGS });
  const starts: Record<string, { promptMs: Stats; bytes: Stats; umlRestarts: Stats; samples: StartSample[] }> = {};
  const pageRuns: PageMicro[] = [];
  const nativeRuns: MicroResult[] = [];
  const networkRuns: Record<string, NetworkSample>[] = [];
  const figure = async (name: string, measure: () => Promise<StartSample>): Promise<void> => {
    if (!wanted(name)) return;
    const samples: StartSample[] = [];
    for (let i = 0; i < runs; i++) {
      const s = await measure();
      console.log(`${name} #${i + 1}: prompt answered after ${(s.promptMs / 1000).toFixed(2)} s, ${(s.bytes / 1e6).toFixed(2)} MB transferred, UML restarted ${s.umlRestarts} time(s)`);
      samples.push(s);
    }
    starts[name] = { promptMs: stats(samples.map((s) => s.promptMs)), bytes: stats(samples.map((s) => s.bytes)), umlRestarts: stats(samples.map((s) => s.umlRestarts)), samples };
  };
  try {
    for (const kernel of ["lean", "debian"] as const) {
      await figure(`restore.${kernel}`, () => inFreshContext(browser, async (c) => (await visit(c, `${base}/?kernel=${kernel}`)).sample));
      await figure(`coldBoot.${kernel}`, () => inFreshContext(browser, async (c) => (await visit(c, `${base}/?kernel=${kernel}&boot=cold`)).sample));
    }
    await figure("resume.lean", () => resume(browser));
    for (let i = 0; i < (wanted("micro") ? runs : 0); i++) {
      const r = await pageMicro(browser);
      console.log(`micro #${i + 1}: UML fork+exec ${r.uml.forkExecMs.toFixed(1)} ms (first round ${r.uml.forkExecFirstMs.toFixed(1)} ms), syscall ${r.uml.syscallUs.toFixed(1)} µs; host fork+exec ${r.host.forkExecMs.toFixed(1)} ms; tab ${(r.memory.tabRssBytes / 1e6).toFixed(0)} MB RSS`);
      pageRuns.push(r);
    }
    if (wanted("micro")) {
      const kernel = stepDirs.get("uml-kernel");
      const rootfs = stepDirs.get("rootfs");
      if (!kernel || !rootfs) throw new Error("the image build did not report the uml-kernel and rootfs steps");
      const native = await startNativeUml(path.join(kernel, "linux"), path.join(rootfs, "rootfs.ext4"));
      try {
        for (let i = 0; i < runs; i++) {
          const r = await runMicro(native, NATIVE_PARAMS);
          console.log(`native UML #${i + 1}: fork+exec ${r.forkExecMs.toFixed(2)} ms, syscall ${r.syscallUs.toFixed(2)} µs`);
          nativeRuns.push(r);
        }
      } finally {
        await native.close();
      }
    }
    if (wanted("network")) {
      const loopbackServer = await startLoopbackServer();
      try {
        for (let i = 0; i < runs; i++) {
          const r = await pageNetwork(browser, loopbackServer);
          console.log(`network #${i + 1}: ${Object.entries(r).map(([k, v]) => `${k} ${v.downloadMiBps.toFixed(2)} MiB/s, ${v.requestMs.toFixed(0)} ms/request`).join("; ")}`);
          networkRuns.push(r);
        }
      } finally {
        await loopbackServer.close();
      }
    }
  } finally {
    await browser.close();
    await server.close();
  }

  const umlInV86 = statsByField(pageRuns.map((r) => r.uml));
  const hostInV86 = statsByField(pageRuns.map((r) => r.host));
  const umlNative = statsByField(nativeRuns);
  const memory = statsByField(pageRuns.map((r) => r.memory));
  const disk = statsByField(pageRuns.map((r) => ({ commitMs: r.commitMs, overlayBytes16MiB: r.overlayBytes16MiB })));
  const target = (ms: number): Stats => ({ median: ms, min: ms, max: ms, n: 1 });
  const network = Object.fromEntries([...new Set(networkRuns.flatMap((r) => Object.keys(r)))].map((k) => [k, statsByField(networkRuns.flatMap((r) => (r[k] ? [r[k]] : [])))]));
  const ratios: Ratio[] = [
    ratio("cold boot (lean) / 6 s target", starts["coldBoot.lean"]?.promptMs, target(6000), "≤ 1"),
    ratio("cold boot (debian) / 6 s target", starts["coldBoot.debian"]?.promptMs, target(6000), "≤ 1"),
    ratio("restore (lean) / 1 s target", starts["restore.lean"]?.promptMs, target(1000), "≤ 1"),
    ratio("first-visit bytes (restore, lean) / 8 MB target", starts["restore.lean"]?.bytes, target(8e6), "≤ 1"),
    ratio("UML fork+exec: in v86 / native", umlInV86.forkExecMs, umlNative.forkExecMs, "≤ 5"),
    ratio("UML syscall: in v86 / native", umlInV86.syscallUs, umlNative.syscallUs),
    ratio("fork+exec: UML in v86 / host in v86", umlInV86.forkExecMs, hostInV86.forkExecMs),
    ratio("syscall: UML in v86 / host in v86", umlInV86.syscallUs, hostInV86.syscallUs),
    ratio("CPU loop: UML in v86 / host in v86", umlInV86.cpuNsPerRound, hostInV86.cpuNsPerRound),
    ratio("CPU loop: UML in v86 / native UML", umlInV86.cpuNsPerRound, umlNative.cpuNsPerRound),
    ratio("download: UML via fetch / host via v86's fetch backend", network["uml.fetch"]?.downloadMiBps, network["host.v86-fetch"]?.downloadMiBps),
    ratio("download: host via umlab's fetch / host via v86's fetch backend", network["host.fetch"]?.downloadMiBps, network["host.v86-fetch"]?.downloadMiBps),
    ratio("tab RSS / guest RAM", memory.tabRssBytes, target((manifest.snapshots?.lean?.hostMemoryMiB ?? NaN) * 1048576)),
  ];

  const machine: Machine = { cores: cpus().length, cpu: cpus()[0]?.model ?? "?", memoryGiB: Math.round(totalmem() / 2 ** 30), kernel: release() };
  const report = {
    date: new Date().toISOString(),
    machine,
    chromium: browser.version(),
    v86: (JSON.parse(await readFile(path.join(root, "node_modules", "v86", "package.json"), "utf8")) as { version: string }).version,
    manifestInputsHash: manifest.inputsHash,
    runs,
    served: "production build (vite build + vite preview)",
    snapshots: Object.fromEntries(Object.entries(manifest.snapshots ?? {}).map(([k, v]) => [k, { compressed: v.size, raw: v.rawSize }])),
    starts,
    micro: { umlInV86, hostInV86, umlNative, params: { v86: V86_PARAMS, native: NATIVE_PARAMS } },
    disk,
    memory,
    network,
    ratios,
  };
  const stamp = report.date.replace(/[:.]/g, "-");
  const dir = path.join(root, "bench", "results");
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, `${stamp}.json`), `${JSON.stringify(report, null, 2)}\n`);
  const microRows = (label: string, s: ReturnType<typeof statsByField<MicroResult>>): string[] => [
    statsRow(`${label}: fork+exec of /bin/true (steady state)`, s.forkExecMs, "ms"),
    statsRow(`${label}: fork+exec, first warm-up round`, s.forkExecFirstMs, "ms"),
    statsRow(`${label}: getppid() syscall`, s.syscallUs, "µs"),
    statsRow(`${label}: integer CPU loop, per round`, s.cpuNsPerRound, "ns"),
    ...(s.writeMBps ? [statsRow(`${label}: write 16 MiB`, s.writeMBps, "MB/s"), statsRow(`${label}: fsync after it`, s.fsyncMs, "ms"), statsRow(`${label}: read 16 MiB, caches dropped`, s.readMBps, "MB/s")] : []),
  ];
  const md = [
    `# umlab bench ${report.date}`,
    "",
    `Machine: ${machine.cores} cores, ${machine.cpu}, ${machine.memoryGiB} GiB, Linux ${machine.kernel}. Chromium ${report.chromium}, v86 ${report.v86}, images ${manifest.inputsHash.slice(0, 12)}. ${runs} run(s) per figure; the page is a ${report.served}.`,
    "",
    "## Ratios the project steers by",
    "",
    "| ratio | value | target |",
    "|---|---|---|",
    ...ratios.map(formatRatio),
    "",
    "## Figures",
    "",
    "| figure | median | min | max |",
    "|---|---|---|---|",
    ...Object.entries(starts).flatMap(([name, r]) => [statsRow(`${name}: page open to answering prompt`, r.promptMs, "s"), statsRow(`${name}: bytes transferred before it`, r.bytes, "MB"), statsRow(`${name}: UML restarted by the boot watchdog`, r.umlRestarts, "count")]),
    ...microRows("UML in v86", umlInV86),
    ...microRows("host in v86", hostInV86),
    ...microRows("UML native", umlNative),
    statsRow("UML in v86: IndexedDB commit that made the write durable", disk.commitMs, "ms"),
    statsRow("UML in v86: overlay growth from the 16 MiB write", disk.overlayBytes16MiB, "MB"),
    statsRow("memory at idle: the tab's renderer (page and worker), RSS", memory.tabRssBytes, "MB"),
    statsRow("memory at idle: all of Chromium, RSS", memory.totalRssBytes, "MB"),
    statsRow("memory at idle: all of Chromium, PSS", memory.totalPssBytes, "MB"),
    ...Object.entries(network).flatMap(([k, v]) => [statsRow(`network, ${k}: 10 MiB download from a loopback server`, v.downloadMiBps, "MB/s"), statsRow(`network, ${k}: one small HTTP request on a new connection`, v.requestMs, "ms")]),
    "",
    "Network transports: `uml.*` is wget in UML (tap, bridge, host NIC, umlab's stack); `host.*` is wget on the host Linux; `v86-fetch` is v86's own fetch backend, the peer. MB/s here are MiB/s.",
    "",
    ...Object.entries(starts).slice(0, 1).map(([name, r]) => `Bytes by kind (${name}, first run): ${Object.entries(r.samples[0]?.bytesByKind ?? {}).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${(v / 1e6).toFixed(2)} MB`).join(", ")}.`),
    `Snapshots: ${Object.entries(report.snapshots).map(([k, v]) => `${k} ${(v.compressed / 1e6).toFixed(2)} MB (${((v.raw ?? 0) / 1e6).toFixed(1)} MB raw)`).join(", ")}.`,
    "",
  ].join("\n");
  await writeFile(path.join(dir, `${stamp}.md`), md);
  console.log(`\n${md}\nwritten to bench/results/${stamp}.{json,md}`);
}

main().catch((err: unknown) => {
  console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
