import { describe, expect, it } from "vitest";
import { formatAgo, formatBytes, formatSeconds, formatWhen, percent } from "./format.ts";

describe("formatBytes", () => {
  it("keeps small counts in bytes", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(1023)).toBe("1023 B");
  });
  it("switches to binary units with three significant digits", () => {
    expect(formatBytes(1024)).toBe("1.00 KiB");
    expect(formatBytes(1536)).toBe("1.50 KiB");
    expect(formatBytes(45.25 * 1024 * 1024)).toBe("45.3 MiB");
    expect(formatBytes(300 * 1024 * 1024)).toBe("300 MiB");
    expect(formatBytes(2 * 1024 ** 3)).toBe("2.00 GiB");
  });
  it("marks nonsense as unknown", () => {
    expect(formatBytes(-1)).toBe("?");
    expect(formatBytes(Number.NaN)).toBe("?");
  });
});

describe("formatSeconds", () => {
  it("shows tenths below a minute, rounding down so it never runs ahead", () => {
    expect(formatSeconds(0)).toBe("0.0 s");
    expect(formatSeconds(1299)).toBe("1.2 s");
    expect(formatSeconds(59_999)).toBe("59.9 s");
  });
  it("shows minutes and padded seconds from a minute on", () => {
    expect(formatSeconds(60_000)).toBe("1 m 00 s");
    expect(formatSeconds(125_400)).toBe("2 m 05 s");
  });
  it("shows a dash for unknown durations", () => {
    expect(formatSeconds(-5)).toBe("–");
  });
});

describe("percent", () => {
  it("is whole and clamped", () => {
    expect(percent(0, 100)).toBe(0);
    expect(percent(50, 200)).toBe(25);
    expect(percent(199, 200)).toBe(99);
    expect(percent(300, 200)).toBe(100);
  });
  it("treats an unknown total as zero", () => {
    expect(percent(10, 0)).toBe(0);
  });
});

describe("formatAgo", () => {
  it("grows coarser with age", () => {
    expect(formatAgo(400)).toBe("just now");
    expect(formatAgo(2500)).toBe("2 s ago");
    expect(formatAgo(59_999)).toBe("59 s ago");
    expect(formatAgo(3 * 60_000 + 5000)).toBe("3 min ago");
    expect(formatAgo(2 * 3_600_000)).toBe("2 h ago");
    expect(formatAgo(3 * 86_400_000)).toBe("3 d ago");
  });
  it("clamps clock skew to now and marks nonsense", () => {
    expect(formatAgo(-5000)).toBe("just now");
    expect(formatAgo(Number.NaN)).toBe("?");
  });
});

describe("formatWhen", () => {
  it("shows the time alone on the same day and the date otherwise", () => {
    const at = new Date(2024, 0, 2, 14, 5, 9).getTime();
    expect(formatWhen(at, new Date(2024, 0, 2, 23, 0).getTime())).toBe("14:05:09");
    expect(formatWhen(at, new Date(2024, 0, 3, 0, 1).getTime())).toBe("2024-01-02 14:05:09");
  });
});
