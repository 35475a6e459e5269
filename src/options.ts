// Page options from the URL query: which UML kernel to boot.
import type { KernelFlavour } from "../workers/api.ts";

/** Kept in step with KernelFlavour by the `satisfies` below; src/ may not import the worker's runtime list. */
export const KERNELS = ["lean", "debian"] as const satisfies readonly KernelFlavour[];
export const DEFAULT_KERNEL: KernelFlavour = "lean";

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
