// The kernel panel's logic: which kernels UML can boot, and filtering a kernel's --showconfig.
import type { CmdlineCheck } from "../workers/api.ts";
import { safeFileName } from "./shared-files.ts";

/** How an uploaded kernel is named to restartUml(): "upload:<name>". */
export const UPLOAD_PREFIX = "upload:";

export interface KernelOption {
  value: string;
  label: string;
}

export function uploadValue(name: string): string {
  return `${UPLOAD_PREFIX}${name}`;
}

/** The uploaded kernel's name inside a value, or undefined for the built-in flavours. */
export function uploadedName(value: string): string | undefined {
  return value.startsWith(UPLOAD_PREFIX) ? value.slice(UPLOAD_PREFIX.length) : undefined;
}

/** The built-in flavours first, then every uploaded kernel once, in name order. */
export function kernelOptions(flavours: readonly string[], uploaded: Iterable<string>): KernelOption[] {
  const names = [...new Set(uploaded)].sort();
  return [...flavours.map((f) => ({ value: f, label: f })), ...names.map((n) => ({ value: uploadValue(n), label: `${n} (uploaded)` }))];
}

/** The name an uploaded file is stored and booted under. */
export function kernelName(fileName: string): string {
  return safeFileName(fileName);
}

export interface ConfigView {
  lines: string[];
  /** Option lines in the whole config (set or "is not set"). */
  total: number;
}

/**
 * The config lines matching `query` (case-insensitive, every word must appear), option lines only;
 * `setOnly` hides "# CONFIG_X is not set".
 */
export function filterConfig(config: string, query: string, setOnly: boolean): ConfigView {
  const options = config.split("\n").filter((line) => /^(# )?CONFIG_/.test(line));
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  const lines = options.filter((line) => {
    if (setOnly && line.startsWith("#")) return false;
    const lower = line.toLowerCase();
    return words.every((w) => lower.includes(w));
  });
  return { lines, total: options.length };
}

/** What the command-line editor shows under the field; `ok` decides whether Boot is allowed. */
export interface CmdlineReport {
  ok: boolean;
  errors: string[];
  warnings: string[];
}

export function cmdlineReport(check: CmdlineCheck): CmdlineReport {
  if (check.ok) return { ok: true, errors: [], warnings: [...check.warnings] };
  // The worker's words as they are; the token goes in front only when they do not already name it.
  return { ok: false, errors: check.errors.map((e) => (e.token === "" || e.message.includes(e.token) ? e.message : `${e.token}: ${e.message}`)), warnings: [] };
}
