// Debian packages: build tools installed with apt-get, and pinned content packages fetched as .debs.
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, rm } from "node:fs/promises";
import path from "node:path";
import { run, type Progress } from "./progress.ts";

export interface PinnedPackage {
  name: string;
  arch: string;
  version: string;
}

export interface ResolvedPackage extends PinnedPackage {
  /** Where `dpkg -x` unpacked it (empty for build tools). */
  unpackedDir: string;
}

const isRoot = (): boolean => process.getuid?.() === 0;

/** Parses `name:arch version` lines; `#` starts a comment. */
export function parseLock(text: string): PinnedPackage[] {
  const out: PinnedPackage[] = [];
  for (const [i, raw] of text.split("\n").entries()) {
    const line = raw.replace(/#.*/, "").trim();
    if (!line) continue;
    const m = /^([a-z0-9][a-z0-9+.-]*):([a-z0-9]+)\s+(\S+)$/.exec(line);
    if (!m?.[1] || !m[2] || !m[3]) throw new Error(`debian-packages.lock line ${i + 1}: expected "name:arch version", got "${line}"`);
    out.push({ name: m[1], arch: m[2], version: m[3] });
  }
  return out;
}

export async function readLock(file: string): Promise<PinnedPackage[]> {
  return parseLock(await readFile(file, "utf8"));
}

async function asRoot(args: string[], progress: Progress, step: string): Promise<string> {
  if (isRoot()) return run(args[0] ?? "", args.slice(1), { env: { DEBIAN_FRONTEND: "noninteractive" }, progress, logPrefix: step });
  if (existsSync("/usr/bin/sudo")) return run("sudo", ["-n", "env", "DEBIAN_FRONTEND=noninteractive", ...args], { progress, logPrefix: step });
  throw new Error(`need root to run "${args.join(" ")}". Run it yourself (or with sudo), then run this again.`);
}

let aptUpdated = false;
/** apt-get update, once per run. A partly failed index sync (a mirror mid-update) is not fatal. */
async function aptUpdate(progress: Progress): Promise<void> {
  if (aptUpdated) return;
  aptUpdated = true;
  try {
    await asRoot(["apt-get", "update", "-q"], progress, "apt-get update");
  } catch (err) {
    console.warn(`apt-get update reported a problem; carrying on with the indexes it has.\n${String(err).split("\n").slice(-3).join("\n")}`);
  }
}

async function ensureI386(progress: Progress): Promise<void> {
  const foreign = await run("dpkg", ["--print-foreign-architectures"], { quiet: true });
  if (foreign.split("\n").includes("i386")) return;
  await asRoot(["dpkg", "--add-architecture", "i386"], progress, "dpkg");
  aptUpdated = false;
  await aptUpdate(progress);
}

async function installedVersions(names: string[]): Promise<Map<string, string>> {
  // dpkg-query exits 1 when some names are unknown, yet still prints the known ones.
  const out = await run("bash", ["-c", 'dpkg-query -W -f "$0" "$@" 2>/dev/null || true', "${Package} ${Version} ${db:Status-Status}\n", ...names], { quiet: true });
  const map = new Map<string, string>();
  for (const line of out.split("\n")) {
    const [name, version, status] = line.split(" ");
    if (name && version && status === "installed") map.set(name, version);
  }
  return map;
}

/** Installs whichever packages of a list are missing (apt-get, as root or with sudo); returns each with its installed version. */
export async function ensureDebianPackages(listFile: string, progress: Progress): Promise<ResolvedPackage[]> {
  const names = (await readFile(listFile, "utf8")).split("\n").map((l) => l.replace(/#.*/, "").trim()).filter(Boolean);
  let have = await installedVersions(names);
  const missing = names.filter((n) => !have.has(n));
  if (missing.length > 0) {
    progress.output("tools", `installing ${missing.join(" ")}`);
    await aptUpdate(progress);
    await asRoot(["apt-get", "install", "-y", "-q", "--no-install-recommends", ...missing], progress, "tools");
    have = await installedVersions(names);
  }
  return names.map((name) => ({ name, arch: "amd64", version: have.get(name) ?? "?", unpackedDir: "" }));
}

const debFileName = (p: PinnedPackage): string => `${p.name}_${p.version.replace(/:/g, "%3a")}_${p.arch}.deb`;

async function download(p: PinnedPackage, dir: string, progress: Progress): Promise<void> {
  const spec = p.arch === "all" ? `${p.name}=${p.version}` : `${p.name}:${p.arch}=${p.version}`;
  const attempt = (): Promise<string> => run("apt-get", ["download", "-q", spec], { progress, logPrefix: "packages" }).then((out) => out);
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    try {
      await attempt();
    } catch {
      await aptUpdate(progress);
      try {
        await attempt();
      } catch {
        const madison = await run("apt-cache", ["madison", p.arch === "all" ? p.name : `${p.name}:${p.arch}`], { quiet: true }).catch(() => "");
        const available = [...new Set(madison.split("\n").map((l) => l.split("|")[1]?.trim()).filter(Boolean))];
        throw new Error(
          `pinned package ${spec} cannot be downloaded. Available: ${available.join(", ") || "none"}.\n` +
            `If Debian replaced it, update images/debian-packages.lock to an available version and rebuild.`,
        );
      }
    }
  } finally {
    process.chdir(cwd);
  }
}

/** Fetches each pinned .deb into the shared cache (once) and unpacks it (once). */
export async function fetchPinnedPackages(pins: PinnedPackage[], cacheDir: string, progress: Progress): Promise<ResolvedPackage[]> {
  await mkdir(path.join(cacheDir, "unpacked"), { recursive: true });
  const out: ResolvedPackage[] = [];
  for (const p of pins) {
    const deb = path.join(cacheDir, debFileName(p));
    if (!existsSync(deb)) {
      if (p.arch === "i386") await ensureI386(progress);
      progress.output("packages", `downloading ${p.name}:${p.arch} ${p.version}`);
      await download(p, cacheDir, progress);
      if (!existsSync(deb)) throw new Error(`apt-get download did not produce ${debFileName(p)}`);
    }
    const unpackedDir = path.join(cacheDir, "unpacked", debFileName(p).replace(/\.deb$/, ""));
    if (!existsSync(path.join(unpackedDir, ".unpacked"))) {
      const tmp = `${unpackedDir}.tmp`;
      await rm(tmp, { recursive: true, force: true });
      await mkdir(tmp, { recursive: true });
      await run("dpkg", ["-x", deb, tmp]);
      await run("touch", [path.join(tmp, ".unpacked")]);
      await rm(unpackedDir, { recursive: true, force: true });
      await rename(tmp, unpackedDir);
    }
    out.push({ ...p, unpackedDir });
  }
  return out;
}
