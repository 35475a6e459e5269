// Page options from the URL query: which UML kernel to boot, which lab (disk) to open, how to start.
import type { KernelFlavour } from "../workers/api.ts";

/** Kept in step with KernelFlavour by the `satisfies` below; src/ may not import the worker's runtime list. */
export const KERNELS = ["lean", "debian"] as const satisfies readonly KernelFlavour[];
export const DEFAULT_KERNEL: KernelFlavour = "lean";
export const DEFAULT_LAB = "default";

// Fails to compile if KernelFlavour gains a member that KERNELS lacks.
const everyFlavourListed: Exclude<KernelFlavour, (typeof KERNELS)[number]> extends never ? true : false = true;
void everyFlavourListed;

export type KernelChoice = { ok: true; kernel: KernelFlavour } | { ok: false; value: string; message: string };

export function isKernel(value: string): value is KernelFlavour {
  return (KERNELS as readonly string[]).includes(value);
}

/** Reads ?kernel=; absent or empty means the default, anything unknown is reported rather than guessed. */
export function kernelFromSearch(search: string): KernelChoice {
  const value = new URLSearchParams(search).get("kernel");
  if (value === null || value === "") return { ok: true, kernel: DEFAULT_KERNEL };
  if (isKernel(value)) return { ok: true, kernel: value };
  return { ok: false, value, message: `Unknown kernel "${value}" in the address (?kernel=${value}). Known kernels: ${KERNELS.join(", ")}.` };
}

/** The same address with ?kernel= set, other parameters and the fragment untouched. */
export function urlWithKernel(href: string, kernel: KernelFlavour): string {
  const url = new URL(href);
  url.searchParams.set("kernel", kernel);
  return url.toString();
}

/** Lab names become IndexedDB keys and lock names; keep them short and plain. */
const LAB_NAME = /^[a-z0-9-]{1,32}$/;

export type LabChoice = { ok: true; lab: string } | { ok: false; value: string; message: string };

/** Reads ?lab=; absent or empty means "default", anything outside [a-z0-9-]{1,32} is reported. */
export function labFromSearch(search: string): LabChoice {
  const value = new URLSearchParams(search).get("lab");
  if (value === null || value === "") return { ok: true, lab: DEFAULT_LAB };
  if (LAB_NAME.test(value)) return { ok: true, lab: value };
  return { ok: false, value, message: `Bad lab name "${value}" in the address (?lab=${value}). A lab name is 1 to 32 characters of a-z, 0-9 and "-".` };
}

/** The page's own start modes; a session resume is chosen in the sessions list, never by the address. */
export type AddressBootMode = "auto" | "cold";

export type BootModeChoice = { ok: true; mode: AddressBootMode } | { ok: false; value: string; message: string };

/** Reads ?boot=; absent or empty means "auto" (snapshot or saved session when possible). */
export function bootModeFromSearch(search: string): BootModeChoice {
  const value = new URLSearchParams(search).get("boot");
  if (value === null || value === "" || value === "auto") return { ok: true, mode: "auto" };
  if (value === "cold") return { ok: true, mode: "cold" };
  return { ok: false, value, message: `Unknown boot mode "${value}" in the address (?boot=${value}). Known modes: auto, cold.` };
}

/** The same address with one parameter removed, e.g. a bad ?lab= after falling back to the default. */
export function urlWithout(href: string, name: string): string {
  const url = new URL(href);
  url.searchParams.delete(name);
  return url.toString();
}
