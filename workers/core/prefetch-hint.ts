// The PrefetchHint the page puts in the emulator worker's name: `umlab-emulator <hint as JSON>`.
import type { PrefetchHint } from "../api.ts";
import { isKernelFlavour } from "./manifest.ts";

const WORKER_NAME = "umlab-emulator";

/** The hint in a worker's name; undefined for a plain name or anything malformed (it is only a head start). */
export function prefetchHintFromName(name: string, origin: string): PrefetchHint | undefined {
  if (!name.startsWith(`${WORKER_NAME} `)) return undefined;
  try {
    const value: unknown = JSON.parse(name.slice(WORKER_NAME.length + 1));
    if (typeof value !== "object" || value === null) return undefined;
    const { manifestUrl, kernel, lab, mode } = value as Record<string, unknown>;
    // Same origin only: the worker fetches from there and trusts the answer as its images.
    if (typeof manifestUrl !== "string" || new URL(manifestUrl).origin !== origin) return undefined;
    if (typeof kernel !== "string" || !isKernelFlavour(kernel) || typeof lab !== "string") return undefined;
    if (mode !== undefined && mode !== "auto") return undefined;
    return mode === undefined ? { manifestUrl, kernel, lab } : { manifestUrl, kernel, lab, mode };
  } catch {
    return undefined;
  }
}
