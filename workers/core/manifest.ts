// The image manifest written by `npm run images` and read by the page, the worker and the CLI.

export const MANIFEST_VERSION = 2;

export type ArtifactName = "bios" | "vgaBios" | "hostKernel" | "hostInitramfs" | "umlLean" | "umlDebian" | "rootfs";

export type KernelFlavour = "lean" | "debian";
export const KERNEL_FLAVOURS: readonly KernelFlavour[] = ["lean", "debian"];

export interface ManifestArtifact {
  /** File name relative to the manifest. */
  file: string;
  sha256: string;
  size: number;
  /** For compressed artifacts: the size and hash after decompression. */
  rawSize?: number;
  rawSha256?: string;
}

/** A v86 state saved at the UML shell prompt by `npm run images`, restored by default instead of booting. */
export interface ManifestSnapshot extends ManifestArtifact {
  /** The v86 memory size the state needs. */
  hostMemoryMiB: number;
  umlMemory: string;
  /** Hash of everything the state depends on; a snapshot is rebuilt when it changes. */
  key: string;
  /** The UML console's last output before the state was saved, to show again on restore. */
  screen: string;
  /**
   * Set when the state carries the rootfs disk's image (so a restore fetches no rootfs artifact): the
   * disk's size, which the emulator needs before the state arrives. Older manifests lack it.
   */
  rootDiskBytes?: number;
  /**
   * The DHCP leases the worker's network stack had given when the state was saved (MAC and address as
   * text). A restore starts its stack with them, so the guests keep their addresses without renewing.
   */
  leases?: Array<{ mac: string; ip: string }>;
}

/**
 * UML's backing image: a regular file in the ext4 filesystem of the rootfs disk (the host's sda, mounted
 * at /images). A file rather than the bare disk, because uml_moo sizes its backing file with stat().
 */
export interface ManifestBacking {
  /** File name in /images; it carries the image's hash, so a COW header names the release it belongs to. */
  file: string;
  size: number;
  /** The file's mtime, which UML's COW header records and checks. */
  mtime: number;
  sha256: string;
  /** Where the file's 4 KiB blocks lie on the disk, in file order: [file block, disk block, count]. */
  extents: [number, number, number][];
}

export interface ManifestPackage {
  name: string;
  arch: string;
  version: string;
}

export interface ImageManifest {
  manifestVersion: number;
  /** Hash of every step's inputs: two manifests with the same value describe the same images. */
  inputsHash: string;
  builtAt: string;
  artifacts: Record<ArtifactName, ManifestArtifact>;
  /** The root image inside the rootfs artifact's filesystem. */
  backing: ManifestBacking;
  kernels: Record<KernelFlavour, { artifact: ArtifactName; release: string; description: string }>;
  hostKernel: { release: string };
  /** Pinned packages whose files are inside the images. */
  debianPackages: ManifestPackage[];
  /** Packages of the build machine that ran the build (compiler, mkfs, ...). */
  buildTools: ManifestPackage[];
  /** Pre-booted states per UML kernel; absent when none was built. */
  snapshots?: Partial<Record<KernelFlavour, ManifestSnapshot>>;
}

export function isKernelFlavour(value: string): value is KernelFlavour {
  return (KERNEL_FLAVOURS as readonly string[]).includes(value);
}

/** Checks the shape of a parsed manifest.json, naming the first thing that is wrong. */
export function parseManifest(json: unknown): ImageManifest {
  const fail = (what: string): never => {
    throw new Error(`manifest.json is not a umlab image manifest: ${what}`);
  };
  if (typeof json !== "object" || json === null) return fail("not a JSON object");
  const m = json as Partial<ImageManifest>;
  if (m.manifestVersion !== MANIFEST_VERSION) return fail(`manifestVersion is ${String(m.manifestVersion)}, expected ${MANIFEST_VERSION}; rebuild with npm run images`);
  if (typeof m.artifacts !== "object" || m.artifacts === null) return fail("no artifacts");
  const names: ArtifactName[] = ["bios", "vgaBios", "hostKernel", "hostInitramfs", "umlLean", "umlDebian", "rootfs"];
  for (const name of names) {
    const a = m.artifacts[name] as Partial<ManifestArtifact> | undefined;
    if (!a || typeof a.file !== "string" || typeof a.size !== "number" || !/^[0-9a-f]{64}$/.test(a.sha256 ?? "")) {
      return fail(`artifact "${name}" is missing or incomplete`);
    }
  }
  const b = m.backing as Partial<ManifestBacking> | undefined;
  if (!b || typeof b.file !== "string" || typeof b.size !== "number" || typeof b.mtime !== "number" || !Array.isArray(b.extents)) return fail("no backing image");
  for (const flavour of KERNEL_FLAVOURS) {
    if (typeof m.kernels?.[flavour]?.release !== "string") return fail(`kernel "${flavour}" is missing`);
  }
  return m as ImageManifest;
}
