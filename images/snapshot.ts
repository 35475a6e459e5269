// The pre-booted snapshot: boots the published images headlessly (the same Machine as the page, in Node)
// to the UML shell prompt and saves the v86 state, so a visit restores it instead of booting.
import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { createNodeMachine } from "../cli/node-machine.ts";
import type { Machine } from "../workers/core/machine.ts";
import type { ImageManifest, KernelFlavour } from "../workers/core/manifest.ts";
import { NetStack, type LeaseInfo } from "../workers/net/stack.ts";
import { zstdCompressFile } from "./pipeline/zstd.ts";

export const SNAPSHOT_HOST_MEMORY_MIB = 256;
export const SNAPSHOT_UML_MEMORY = "64M";
const BOOT_TIMEOUT_MS = 240_000;
const ATTEMPTS = 3;
/** The prompt from images/rootfs/files/etc/profile, at the end of the console output. */
const PROMPT = /root@umlab:[^\n]*# $/;
const SCREEN_BYTES = 4096;
/** CSI sequences, e.g. the cursor-position query ash prints after its prompt. */
// eslint-disable-next-line no-control-regex -- ESC is exactly what starts the sequences to strip
const CSI = /\x1b\[[0-9;?]*[A-Za-z]/g;

/**
 * The state carries the rootfs disk (ManifestSnapshot.rootDiskBytes), so a first visit fetches one file.
 * Its busybox is also in the host's initramfs and in UML's page cache, up to about 30 MB apart in the
 * state: a 64 MiB match window compresses the three as one (about 1.5 MB less than the two files apart).
 */
const WINDOW_LOG = 26;

export interface BuiltSnapshot {
  /** The zstd-compressed state. */
  file: string;
  rawSize: number;
  screen: string;
  /** The size of the rootfs disk the state carries. */
  rootDiskBytes: number;
  /** The leases the network stack had given (ManifestSnapshot.leases). */
  leases: LeaseInfo[];
}

/** Boots `kernel` to its prompt and writes the compressed state to `outFile`; retries a boot that hangs. */
export async function buildSnapshot(imagesDir: string, manifest: ImageManifest, kernel: KernelFlavour, outFile: string, log: (line: string) => void): Promise<BuiltSnapshot> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    try {
      return await attemptSnapshot(imagesDir, manifest, kernel, outFile, log);
    } catch (err) {
      lastError = err;
      log(`snapshot of ${kernel}, attempt ${attempt} of ${ATTEMPTS} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}

async function attemptSnapshot(imagesDir: string, manifest: ImageManifest, kernel: KernelFlavour, outFile: string, log: (line: string) => void): Promise<BuiltSnapshot> {
  const decoder = new TextDecoder();
  let screen = "";
  let ready: () => void = () => undefined;
  let failed: (err: Error) => void = () => undefined;
  const atPrompt = new Promise<void>((resolve, reject) => {
    ready = resolve;
    failed = reject;
  });
  let sawReady = false;
  // The snapshot needs no outside world, only DHCP; its leases go into the manifest.
  const network = new NetStack();
  const machine: Machine = createNodeMachine(imagesDir, manifest, kernel, false, {
    stage: (e) => {
      if (e.stage === "ready") sawReady = true;
      if (e.stage === "error" || e.stage === "halted") failed(new Error(`the machine stopped at stage ${e.stage}: ${e.detail ?? ""}`));
      log(`${kernel}: ${e.stage} at ${(e.at / 1000).toFixed(1)} s`);
    },
    download: () => undefined,
    output: (id, bytes) => {
      if (id !== "uml") return;
      screen = (screen + decoder.decode(bytes, { stream: true })).slice(-SCREEN_BYTES);
      if (sawReady && PROMPT.test(screen.replace(CSI, ""))) ready();
    },
  }, { carryRootDisk: true, network });
  const timer = setTimeout(() => failed(new Error(`no UML prompt within ${BOOT_TIMEOUT_MS / 1000} s`)), BOOT_TIMEOUT_MS);
  try {
    await Promise.all([machine.boot(), atPrompt]);
    // UML writes back everything first (twice: ext4's journal commit dirties the metadata it then
    // checkpoints), so a restored snapshot writes nothing by itself: its disk stays pristine, and a second
    // tab never reads it half-written. Then the host writes back and drops its caches; freed pages are
    // zeroed (init_on_free), so they cost nothing.
    for (let i = 0; i < 2; i++) {
      const reply = await machine.agentRequest("quiesce", 60_000);
      if (!/ uml=ok$/.test(reply)) throw new Error(`UML did not write back its pages before the snapshot (${reply})`);
    }
    await machine.agentRequest("prepare", 60_000);
    const { state } = await machine.saveState();
    const raw = `${outFile}.raw`;
    await mkdir(path.dirname(outFile), { recursive: true });
    await writeFile(raw, state);
    await zstdCompressFile(raw, outFile, { windowLog: WINDOW_LOG });
    await rm(raw);
    const rootDiskBytes = machine.rootDisk?.byteLength;
    if (rootDiskBytes === undefined) throw new Error("the machine has no root disk");
    // The OSC that told the page "ready" is in the transcript; the page needs none of it on restore.
    // Nor the cursor-position query ash printed after its prompt: a terminal would answer it as typed input.
    // eslint-disable-next-line no-control-regex -- the OSC is exactly ESC ] ... BEL
    return { file: outFile, rawSize: state.length, rootDiskBytes, leases: network.leaseList(), screen: screen.replace(/\x1b\]6973;[^\x07]*\x07/g, "").replace(CSI, "") };
  } finally {
    clearTimeout(timer);
    await machine.stop();
  }
}
