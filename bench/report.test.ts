import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { countBootRestarts, formatRatio, formatValue, ratio, stats, statsByField, statsRow } from "./report.ts";
import { procField } from "./memory.ts";

describe("stats", () => {
  it("gives median, min and max, averaging the middle pair of an even count", () => {
    expect(stats([3, 1, 2])).toEqual({ median: 2, min: 1, max: 3, n: 3 });
    expect(stats([4, 1, 2, 3])).toEqual({ median: 2.5, min: 1, max: 4, n: 4 });
  });

  it("ignores NaN and reports n/a for nothing", () => {
    expect(stats([NaN, 5])).toEqual({ median: 5, min: 5, max: 5, n: 1 });
    expect(statsRow("x", stats([]), "ms")).toBe("| x | n/a | | |");
  });

  it("summarises each numeric field of the records", () => {
    const s = statsByField([{ a: 1, b: 10 }, { a: 3 }]);
    expect(s.a).toEqual({ median: 2, min: 1, max: 3, n: 2 });
    expect(s.b).toEqual({ median: 10, min: 10, max: 10, n: 1 });
  });
});

describe("ratios and formatting", () => {
  it("divides medians and shows n/a when a side is missing", () => {
    expect(ratio("r", stats([10]), stats([4])).value).toBe(2.5);
    expect(formatRatio(ratio("r", stats([10]), undefined, "≤ 5"))).toBe("| r | n/a | ≤ 5 |");
    expect(formatRatio(ratio("r", stats([15]), stats([2]), "≤ 5"))).toBe("| r | 7.50× | ≤ 5 |");
  });

  it("formats each unit", () => {
    expect(formatValue(2200, "s")).toBe("2.20 s");
    expect(formatValue(8e6, "MB")).toBe("8.00 MB");
    expect(formatValue(75.4, "ms")).toBe("75 ms");
    expect(formatValue(0.64, "ms")).toBe("0.64 ms");
    expect(formatValue(NaN, "µs")).toBe("n/a");
    expect(formatValue(2, "count")).toBe("2");
    expect(formatValue(0.5, "count")).toBe("0.5");
  });
});

describe("countBootRestarts", () => {
  it("counts the lines umlab-uml prints when its watchdog restarts UML", () => {
    const script = readFileSync(new URL("../images/initramfs/files/usr/sbin/umlab-uml", import.meta.url), "utf8");
    const format = /printf '\\r\\n(umlab: UML wedged[^']*)\\r\\n'/.exec(script)?.[1];
    expect(format).toBeDefined();
    const line = (attempt: number): string => `\r\n${(format ?? "").replace("%s", String(attempt))}\r\n`;
    expect(countBootRestarts(`boot\n${line(2)}more boot\n${line(3)}uml login:`)).toBe(2);
    expect(countBootRestarts("uml login: root\n# ")).toBe(0);
  });
});

describe("procField", () => {
  it("reads a kB field as bytes, 0 when absent", () => {
    expect(procField("Name:\tchrome\nVmRSS:\t  2048 kB\n", "VmRSS")).toBe(2048 * 1024);
    expect(procField("Rss: 10 kB\nPss:   512 kB\n", "Pss")).toBe(512 * 1024);
    expect(procField("", "Pss")).toBe(0);
  });
});
