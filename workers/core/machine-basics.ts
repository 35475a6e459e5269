// The parts of the machine the worker needs before v86 itself has loaded: the console ids, the root disk's
// block size and what a start downloads. Kept apart from machine.ts, which imports v86 (about two thirds of
// the worker's code), so the worker can start its downloads while that loads (see emulator.worker.ts).
import type { ArtifactName, ImageManifest, KernelFlavour } from "./manifest.ts";

export type ConsoleId = "uml" | "host";
export const CONSOLE_IDS: readonly ConsoleId[] = ["uml", "host"];

/**
 * The manifest's artifacts a start downloads, besides a snapshot's own file. A restored state has the host
 * kernel, initramfs and UML in its RAM, and a snapshot may carry the rootfs disk too.
 */
export function startArtifacts(manifest: ImageManifest, kernel: KernelFlavour, kind: "cold" | "snapshot" | "resume", rootDiskCarried: boolean): ArtifactName[] {
  if (kind === "cold") return ["bios", "vgaBios", "hostKernel", "hostInitramfs", manifest.kernels[kernel].artifact, "rootfs"];
  return rootDiskCarried ? ["bios", "vgaBios"] : ["bios", "vgaBios", "rootfs"];
}

/** Block size of the rootfs disk's overlay (ext4's block size): only a merge writes to it. */
export const ROOT_BLOCK_SIZE = 4096;
