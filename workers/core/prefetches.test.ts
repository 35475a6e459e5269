import { describe, expect, it, vi } from "vitest";
import { Prefetches } from "./prefetches.ts";

/** A download the test feeds by hand. */
function manual(): { fetcher: (p: (n: number) => void) => Promise<Uint8Array>; progress: (n: number) => void; finish: (b: Uint8Array) => void; fail: (e: Error) => void; calls: () => number } {
  let progress: (n: number) => void = () => undefined;
  let finish: (b: Uint8Array) => void = () => undefined;
  let fail: (e: Error) => void = () => undefined;
  let calls = 0;
  return {
    fetcher: (p) => {
      calls++;
      progress = p;
      return new Promise((resolve, reject) => {
        finish = resolve;
        fail = reject;
      });
    },
    progress: (n) => progress(n),
    finish: (b) => finish(b),
    fail: (e) => fail(e),
    calls: () => calls,
  };
}

describe("Prefetches", () => {
  it("hands a running download to its first reader, with the bytes so far and every later report", async () => {
    const prefetches = new Prefetches();
    const d = manual();
    prefetches.start("a", d.fetcher);
    prefetches.start("a", d.fetcher);
    expect(d.calls()).toBe(1);
    d.progress(100);
    const seen: number[] = [];
    const taken = prefetches.take("a", (n) => seen.push(n));
    expect(taken).toBeDefined();
    d.progress(250);
    d.finish(new Uint8Array([1, 2, 3]));
    expect(await taken).toEqual(new Uint8Array([1, 2, 3]));
    expect(seen).toEqual([100, 250]);
    // Taken once: a second reader fetches for itself.
    expect(prefetches.take("a", () => undefined)).toBeUndefined();
    expect(prefetches.take("b", () => undefined)).toBeUndefined();
  });

  it("gives a finished download at once, and a failed one's error to its reader only", async () => {
    const prefetches = new Prefetches();
    const ok = manual();
    const bad = manual();
    prefetches.start("ok", ok.fetcher);
    prefetches.start("bad", bad.fetcher);
    ok.progress(3);
    ok.finish(new Uint8Array(3));
    bad.fail(new Error("HTTP 500"));
    await new Promise((r) => setTimeout(r, 0));
    const seen: number[] = [];
    expect((await prefetches.take("ok", (n) => seen.push(n)))?.length).toBe(3);
    expect(seen).toEqual([3]);
    await expect(prefetches.take("bad", () => undefined)).rejects.toThrow("HTTP 500");
  });

  it("takes progress a fetcher reports before it even returns", async () => {
    const prefetches = new Prefetches();
    prefetches.start("a", (onProgress) => {
      onProgress(7);
      return Promise.resolve(new Uint8Array(7));
    });
    const seen: number[] = [];
    expect((await prefetches.take("a", (n) => seen.push(n)))?.length).toBe(7);
    expect(seen).toEqual([7]);
  });

  it("drops a download nobody took within its time", () => {
    vi.useFakeTimers();
    try {
      const prefetches = new Prefetches(1000);
      prefetches.start("a", manual().fetcher);
      vi.advanceTimersByTime(999);
      expect(prefetches.size).toBe(1);
      vi.advanceTimersByTime(2);
      expect(prefetches.size).toBe(0);
      expect(prefetches.take("a", () => undefined)).toBeUndefined();
    } finally {
      vi.useRealTimers();
    }
  });
});
