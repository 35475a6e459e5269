// `npm run images`: builds every guest artifact from pinned Debian packages into images/out/.
// Steps are cached by the hash of their inputs, in images/.work/cache and in a cache outside the clone.
import { createHash } from "node:crypto";
import { cp, mkdir, readFile, readdir, rename, rm, stat, symlink, writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ensureDebianPackages, fetchPinnedPackages, readLock, type ResolvedPackage } from "./pipeline/packages.ts";
import { hashTree, sha256File } from "./pipeline/hash.ts";
import { Progress, run } from "./pipeline/progress.ts";
import { encodeSparseImage } from "../workers/disk/sparse-image.ts";
import { zstdCompressFile } from "./pipeline/zstd.ts";
import { parseExtents } from "./pipeline/extents.ts";
import { KERNEL_FLAVOURS, MANIFEST_VERSION, type ArtifactName, type ImageManifest, type ManifestArtifact, type ManifestBacking, type ManifestSnapshot } from "../workers/core/manifest.ts";
import { buildSnapshot, SNAPSHOT_HOST_MEMORY_MIB, SNAPSHOT_UML_MEMORY } from "./snapshot.ts";
import type { LeaseInfo } from "../workers/net/stack.ts";

const imagesDir = path.dirname(fileURLToPath(import.meta.url));
const outDir = path.join(imagesDir, "out");
const localCache = path.join(imagesDir, ".work", "cache");
const sharedCache = process.env.UMLAB_CACHE
  ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(process.env.HOME ?? "/tmp", ".cache"), "umlab");

interface Step {
  name: string;
  /** Folder under images/ holding build.sh and everything it reads. */
  dir: string;
  packages: string[];
  /** Steps whose outputs this one reads, passed as IN_<NAME> directories. */
  after: string[];
  /** Extra facts that change the output, e.g. the compiler version. */
  salt?: () => Promise<string>;
  /** Rough duration on 2 cores, to tell the user what to expect. */
  expect: string;
}

const gccVersion = async (): Promise<string> => (await run("gcc", ["--version"], { quiet: true })).split("\n")[0] ?? "";

const steps: Step[] = [
  { name: "bios", dir: "bios", packages: ["seabios"], after: [], expect: "1 s" },
  { name: "host-kernel", dir: "host-kernel", packages: ["linux-source-6.1"], after: [], salt: gccVersion, expect: "4 min" },
  { name: "uml-kernel", dir: "uml-kernel", packages: ["linux-source-6.1"], after: [], salt: gccVersion, expect: "4 min" },
  { name: "uml-debian", dir: "uml-debian", packages: ["user-mode-linux"], after: [], expect: "1 s" },
  { name: "bench-tool", dir: "bench-tool", packages: [], after: [], salt: gccVersion, expect: "1 s" },
  { name: "console-mux", dir: "console-mux", packages: [], after: [], salt: gccVersion, expect: "2 s" },
  { name: "clockd", dir: "clockd", packages: [], after: [], salt: gccVersion, expect: "1 s" },
  { name: "watch", dir: "watch", packages: [], after: [], salt: gccVersion, expect: "1 s" },
  { name: "rootfs", dir: "rootfs", packages: ["busybox-static"], after: ["uml-kernel", "bench-tool", "clockd"], expect: "5 s" },
  {
    name: "initramfs",
    dir: "initramfs",
    packages: ["busybox-static", "libc6", "libreadline8", "libtinfo6", "uml-utilities"],
    after: ["uml-kernel", "uml-debian", "bench-tool", "console-mux", "clockd", "watch"],
    expect: "40 s",
  },
];

/** Files every step's recipe shares; a change to them rebuilds everything. */
const sharedInputs = ["lib"];

interface StepResult {
  dir: string;
  hash: string;
  cached: boolean;
}

async function buildStep(step: Step, packages: Map<string, ResolvedPackage>, done: Map<string, StepResult>, progress: Progress, force: boolean): Promise<StepResult> {
  const h = createHash("sha256");
  h.update(`step ${step.name}\n`);
  h.update(await hashTree(path.join(imagesDir, step.dir)));
  for (const shared of sharedInputs) h.update(await hashTree(path.join(imagesDir, shared)));
  for (const name of step.packages) {
    const pkg = packages.get(name);
    if (!pkg) throw new Error(`step ${step.name} needs package ${name}, which debian-packages.lock does not list`);
    h.update(`pkg ${pkg.name}:${pkg.arch}=${pkg.version}\n`);
  }
  for (const dep of step.after) h.update(`after ${dep}=${done.get(dep)?.hash ?? "?"}\n`);
  if (step.salt) h.update(`salt ${await step.salt()}\n`);
  const hash = h.digest("hex").slice(0, 24);
  const key = `${step.name}-${hash}`;

  for (const cache of [localCache, path.join(sharedCache, "steps")]) {
    const dir = path.join(cache, key);
    if (!force && existsSync(path.join(dir, ".complete"))) {
      if (cache !== localCache) await copyIntoCache(dir, path.join(localCache, key));
      progress.skip(step.name, `cached (${hash.slice(0, 12)})`);
      return { dir: path.join(localCache, key), hash, cached: true };
    }
  }

  const stageDir = path.join(localCache, `${key}.tmp`);
  const workDir = path.join(imagesDir, ".work", "tmp", step.name);
  await rm(stageDir, { recursive: true, force: true });
  await rm(workDir, { recursive: true, force: true });
  await mkdir(stageDir, { recursive: true });
  await mkdir(workDir, { recursive: true });
  const env: Record<string, string> = {
    OUT: stageDir,
    WORK: workDir,
    DEBS: await linkPackages(step, packages, path.join(workDir, "debs")),
    JOBS: String(Math.max(1, availableParallelism())),
    CCACHE: "1",
    CCACHE_DIR: path.join(sharedCache, "ccache"),
  };
  for (const dep of step.after) {
    const result = done.get(dep);
    if (!result) throw new Error(`step ${step.name} runs after ${dep}, which has not run`);
    env[`IN_${dep.replace(/-/g, "_").toUpperCase()}`] = result.dir;
  }
  progress.start(step.name, `building (usually ${step.expect})`);
  await run("bash", [path.join(imagesDir, step.dir, "build.sh")], { env, logPrefix: step.name, progress });
  await writeFile(path.join(stageDir, ".complete"), `${new Date().toISOString()}\n`);
  const finalDir = path.join(localCache, key);
  await rm(finalDir, { recursive: true, force: true });
  await cp(stageDir, finalDir, { recursive: true, verbatimSymlinks: true });
  await rm(stageDir, { recursive: true, force: true });
  await copyIntoCache(finalDir, path.join(sharedCache, "steps", key));
  await rm(workDir, { recursive: true, force: true });
  progress.done(step.name);
  return { dir: finalDir, hash, cached: false };
}

/** Gives a step a folder that holds only the packages it declared, each unpacked as <name>/. */
async function linkPackages(step: Step, packages: Map<string, ResolvedPackage>, dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const name of step.packages) {
    const pkg = packages.get(name);
    if (pkg) await symlink(pkg.unpackedDir, path.join(dir, name));
  }
  return dir;
}

async function copyIntoCache(from: string, to: string): Promise<void> {
  if (existsSync(path.join(to, ".complete"))) return;
  const tmp = `${to}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(path.dirname(to), { recursive: true });
  await cp(from, tmp, { recursive: true, verbatimSymlinks: true });
  await rm(to, { recursive: true, force: true });
  await rename(tmp, to);
}

async function artifact(file: string, extra: Partial<ManifestArtifact> = {}): Promise<ManifestArtifact> {
  const full = path.join(outDir, file);
  return { file, sha256: await sha256File(full), size: (await stat(full)).size, ...extra };
}

async function publish(results: Map<string, StepResult>, packages: ResolvedPackage[], tools: ResolvedPackage[], progress: Progress, inputsHash: string, force: boolean): Promise<void> {
  progress.start("publish", "copying artifacts to images/out");
  const dir = (name: string): string => {
    const r = results.get(name);
    if (!r) throw new Error(`no result for step ${name}`);
    return r.dir;
  };
  const previous = await readManifest();
  if (previous?.inputsHash === inputsHash && !force && (await outputsIntact(previous))) {
    progress.skip("publish", "images/out is up to date");
    return;
  }
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const copy = async (step: string, from: string, to: string): Promise<void> => cp(path.join(dir(step), from), path.join(outDir, to));
  await copy("bios", "bios.bin", "bios.bin");
  await copy("bios", "vgabios-stdvga.bin", "vgabios-stdvga.bin");
  await copy("host-kernel", "bzImage", "host-bzImage");
  // Symbol maps for `umlab profile`; the page never fetches them.
  await copy("host-kernel", "System.map", "host-kernel.map");
  await copy("uml-kernel", "linux.map", "uml-lean.map");
  await copy("initramfs", "host.cpio.zst", "host-initramfs.cpio.zst");
  await copy("initramfs", "uml-lean.cpio.zst", "uml-lean.cpio.zst");
  await copy("initramfs", "uml-debian.cpio.zst", "uml-debian.cpio.zst");

  // The rootfs disk is mostly empty ext4: store only non-zero blocks, then zstd the lot.
  const raw = await readFile(path.join(dir("rootfs"), "images.ext4"));
  const sparse = encodeSparseImage(new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength));
  const sparsePath = path.join(outDir, "rootfs-disk.sparse");
  await writeFile(sparsePath, sparse);
  await zstdCompressFile(sparsePath, `${sparsePath}.zst`);
  await rm(sparsePath);
  const rawSha = createHash("sha256").update(raw).digest("hex");
  const rootImage = await readFile(path.join(dir("rootfs"), "rootfs.ext4"));
  const backing: ManifestBacking = {
    file: (await readFile(path.join(dir("rootfs"), "backing-name"), "utf8")).trim(),
    size: rootImage.byteLength,
    mtime: Number(await readFile(path.join(dir("rootfs"), "backing-mtime"), "utf8")),
    sha256: createHash("sha256").update(rootImage).digest("hex"),
    extents: parseExtents(await readFile(path.join(dir("rootfs"), "extents.txt"), "utf8"), rootImage.byteLength / 4096),
  };

  const release = async (step: string): Promise<string> => (await readFile(path.join(dir(step), "release"), "utf8")).trim();
  const artifacts: Record<ArtifactName, ManifestArtifact> = {
    bios: await artifact("bios.bin"),
    vgaBios: await artifact("vgabios-stdvga.bin"),
    hostKernel: await artifact("host-bzImage"),
    hostInitramfs: await artifact("host-initramfs.cpio.zst"),
    umlLean: await artifact("uml-lean.cpio.zst"),
    umlDebian: await artifact("uml-debian.cpio.zst"),
    rootfs: await artifact("rootfs-disk.sparse.zst", { rawSize: raw.byteLength, rawSha256: rawSha }),
  };
  const manifest: ImageManifest = {
    manifestVersion: MANIFEST_VERSION,
    inputsHash,
    builtAt: new Date().toISOString(),
    artifacts,
    backing,
    kernels: {
      lean: { artifact: "umlLean", release: await release("uml-kernel"), description: "lean UML built by umlab from linux-source-6.1" },
      debian: { artifact: "umlDebian", release: await release("uml-debian"), description: "Debian's user-mode-linux:i386" },
    },
    hostKernel: { release: await release("host-kernel") },
    debianPackages: packages.map(({ name, arch, version }) => ({ name, arch, version })),
    buildTools: tools.map(({ name, arch, version }) => ({ name, arch, version })),
  };
  await writeFile(path.join(outDir, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  progress.done("publish");
}

/**
 * Boots each kernel flavour to its prompt and saves the state into images/out, cached like the steps by
 * the hash of what the state depends on: the artifacts, the emulator core that boots them, and v86.
 */
async function publishSnapshots(progress: Progress, force: boolean): Promise<void> {
  const manifest = await readManifest();
  if (!manifest) throw new Error("no manifest to add snapshots to");
  const root = path.join(imagesDir, "..");
  const v86Version = (JSON.parse(await readFile(path.join(root, "node_modules", "v86", "package.json"), "utf8")) as { version: string }).version;
  const snapshots: Partial<Record<string, ManifestSnapshot>> = { ...manifest.snapshots };
  for (const kernel of KERNEL_FLAVOURS) {
    const h = createHash("sha256")
      .update(`snapshot ${kernel} ${manifest.inputsHash} v86 ${v86Version} mem ${SNAPSHOT_HOST_MEMORY_MIB}/${SNAPSHOT_UML_MEMORY}\n`)
      .update(await hashTree(path.join(root, "workers", "core")))
      .update(await hashTree(path.join(root, "workers", "disk")))
      // The stack's DHCP answers are in the state, and its leases in the manifest.
      .update(await hashTree(path.join(root, "workers", "net")))
      .update(await hashTree(path.join(imagesDir, "snapshot.ts")))
      .update(await hashTree(path.join(root, "cli", "node-machine.ts")));
    const key = `snapshot-${kernel}-${h.digest("hex").slice(0, 24)}`;
    const file = `snapshot-${kernel}.v86.zst`;
    const existing = snapshots[kernel];
    if (!force && existing?.key === key && (await stat(path.join(outDir, file)).catch(() => undefined))?.size === existing.size) {
      progress.skip(`snapshot-${kernel}`, "images/out is up to date");
      continue;
    }
    let cached: string | undefined;
    for (const cache of [localCache, path.join(sharedCache, "steps")]) {
      if (!force && existsSync(path.join(cache, key, ".complete"))) cached = path.join(cache, key);
    }
    if (cached) {
      progress.skip(`snapshot-${kernel}`, `cached (${key.slice(-24, -12)})`);
    } else {
      progress.start(`snapshot-${kernel}`, "booting to the UML prompt in Node and saving the state (usually 1 min)");
      const stage = path.join(localCache, `${key}.tmp`);
      await rm(stage, { recursive: true, force: true });
      const built = await buildSnapshot(outDir, manifest, kernel, path.join(stage, file), (line) => progress.note(`snapshot-${kernel}`, line));
      await writeFile(path.join(stage, "snapshot.json"), JSON.stringify({ rawSize: built.rawSize, screen: built.screen, rootDiskBytes: built.rootDiskBytes, leases: built.leases }));
      await writeFile(path.join(stage, ".complete"), `${new Date().toISOString()}\n`);
      cached = path.join(localCache, key);
      await rm(cached, { recursive: true, force: true });
      await rename(stage, cached);
      await copyIntoCache(cached, path.join(sharedCache, "steps", key));
      progress.done(`snapshot-${kernel}`);
    }
    await cp(path.join(cached, file), path.join(outDir, file));
    const info = JSON.parse(await readFile(path.join(cached, "snapshot.json"), "utf8")) as { rawSize: number; screen: string; rootDiskBytes: number; leases?: LeaseInfo[] };
    snapshots[kernel] = { ...(await artifact(file, { rawSize: info.rawSize })), hostMemoryMiB: SNAPSHOT_HOST_MEMORY_MIB, umlMemory: SNAPSHOT_UML_MEMORY, key, screen: info.screen, rootDiskBytes: info.rootDiskBytes, ...(info.leases ? { leases: info.leases } : {}) };
  }
  await writeFile(path.join(outDir, "manifest.json"), `${JSON.stringify({ ...manifest, snapshots }, null, 2)}\n`);
}

async function readManifest(): Promise<ImageManifest | undefined> {
  try {
    return JSON.parse(await readFile(path.join(outDir, "manifest.json"), "utf8")) as ImageManifest;
  } catch {
    return undefined;
  }
}

/** Brings images/out up to date, building only the steps whose inputs changed. */
/** Builds what changed and returns each step's output folder (the bench runs the lean UML natively from them). */
export async function buildImages({ force = false }: { force?: boolean } = {}): Promise<Map<string, string>> {
  const progress = new Progress();
  progress.start("tools", "checking Debian build tools");
  const tools = await ensureDebianPackages(path.join(imagesDir, "build-tools.txt"), progress);
  progress.done("tools");
  progress.start("packages", "fetching pinned Debian packages");
  const lock = await readLock(path.join(imagesDir, "debian-packages.lock"));
  const packages = await fetchPinnedPackages(lock, path.join(sharedCache, "debs"), progress);
  progress.done("packages");
  const byName = new Map(packages.map((p) => [p.name, p]));

  const results = new Map<string, StepResult>();
  for (const step of steps) results.set(step.name, await buildStep(step, byName, results, progress, force));
  const inputsHash = createHash("sha256")
    .update([...results.values()].map((r) => r.hash).join(","))
    .update(await hashTree(fileURLToPath(new URL("../workers/disk/sparse-image.ts", import.meta.url))))
    .update(await hashTree(fileURLToPath(new URL("./pipeline/extents.ts", import.meta.url))))
    .digest("hex");
  await publish(results, packages, tools, progress, inputsHash, force);
  if (process.env.UMLAB_SKIP_SNAPSHOTS !== "1") await publishSnapshots(progress, force);
  const snapshotKeys = Object.values((await readManifest())?.snapshots ?? {}).map((snap) => snap.key);
  await pruneLocalCache(new Set([...[...results.entries()].map(([name, r]) => `${name}-${r.hash}`), ...snapshotKeys]));
  progress.finish(`images ready in ${path.relative(process.cwd(), outDir) || outDir}`);
  return new Map([...results].map(([name, r]) => [name, r.dir]));
}

/** Keeps the in-clone cache to the current build; the shared cache keeps history. */
async function pruneLocalCache(keep: Set<string>): Promise<void> {
  if (!existsSync(localCache)) return;
  for (const entry of await readdir(localCache)) {
    if (!keep.has(entry)) await rm(path.join(localCache, entry), { recursive: true, force: true });
  }
}

/** True when every artifact the manifest lists is present with its recorded size. */
async function outputsIntact(manifest: ImageManifest): Promise<boolean> {
  for (const a of Object.values(manifest.artifacts)) {
    const st = await stat(path.join(outDir, a.file)).catch(() => undefined);
    if (st?.size !== a.size) return false;
  }
  return true;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  buildImages({ force: process.argv.includes("--force") }).catch((err: unknown) => {
    console.error(`\nimages: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
