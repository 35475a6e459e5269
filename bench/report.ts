// Summaries and the markdown report of `npm run bench`.

export interface Stats {
  median: number;
  min: number;
  max: number;
  n: number;
}

export function stats(xs: readonly number[]): Stats {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return { median: NaN, min: NaN, max: NaN, n: 0 };
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
  return { median, min: s[0] ?? NaN, max: s[s.length - 1] ?? NaN, n: s.length };
}

/** Summarises each numeric field of a list of records, e.g. one MicroResult per run. */
export function statsByField<T extends object>(records: readonly T[]): Partial<Record<keyof T, Stats>> {
  const out: Partial<Record<keyof T, Stats>> = {};
  const keys = new Set(records.flatMap((r) => Object.keys(r) as (keyof T)[]));
  for (const key of keys) {
    const values = records.map((r) => r[key]).filter((v): v is T[keyof T] & number => typeof v === "number");
    if (values.length) out[key] = stats(values);
  }
  return out;
}

export interface Ratio {
  name: string;
  /** numerator / denominator of the medians; NaN when either is missing. */
  value: number;
  /** What the project aims for, if there is a target (e.g. "≤ 5"). */
  target?: string;
}

export const ratio = (name: string, numerator: Stats | undefined, denominator: Stats | undefined, target?: string): Ratio => ({
  name,
  value: numerator && denominator ? numerator.median / denominator.median : NaN,
  ...(target ? { target } : {}),
});

/** A figure with its unit, e.g. 1234 ms as "1.23 s". */
export type Unit = "ms" | "s" | "MB" | "MB/s" | "µs" | "ns" | "count";

export function formatValue(value: number, unit: Unit): string {
  if (!Number.isFinite(value)) return "n/a";
  switch (unit) {
    case "s":
      return `${(value / 1000).toFixed(2)} s`;
    case "MB":
      return `${(value / 1e6).toFixed(2)} MB`;
    case "ms":
      return value < 10 ? `${value.toFixed(2)} ms` : `${value.toFixed(0)} ms`;
    case "µs":
      return `${value.toFixed(value < 10 ? 2 : 0)} µs`;
    case "ns":
      return `${value.toFixed(value < 10 ? 2 : 0)} ns`;
    case "MB/s":
      return `${value.toFixed(1)} MB/s`;
    case "count":
      return Number.isInteger(value) ? String(value) : value.toFixed(1);
  }
}

/** umlab-uml's line on the UML console each time its boot watchdog restarts a wedged UML. */
const BOOT_RESTART = /umlab: UML wedged during boot\b/g;

/** How many times the boot watchdog restarted UML, from the UML console's text. */
export const countBootRestarts = (consoleText: string): number => consoleText.match(BOOT_RESTART)?.length ?? 0;

/** A markdown table row: label, median, min, max (min/max only when there were several runs). */
export function statsRow(label: string, s: Stats | undefined, unit: Unit): string {
  if (!s || s.n === 0) return `| ${label} | n/a | | |`;
  return `| ${label} | ${formatValue(s.median, unit)} | ${formatValue(s.min, unit)} | ${formatValue(s.max, unit)} |`;
}

export const formatRatio = (r: Ratio): string =>
  `| ${r.name} | ${Number.isFinite(r.value) ? `${r.value.toFixed(2)}×` : "n/a"} | ${r.target ?? ""} |`;
