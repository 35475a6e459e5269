import { describe, expect, it } from "vitest";
import { prefetchHintFromName } from "./prefetch-hint.ts";

const origin = "http://127.0.0.1:5173";
const named = (hint: unknown): string => `umlab-emulator ${JSON.stringify(hint)}`;

describe("prefetchHintFromName", () => {
  it("reads the hint the page puts after the worker's name", () => {
    const hint = { manifestUrl: `${origin}/images/manifest.json`, kernel: "debian", lab: "week-3", mode: "auto" };
    expect(prefetchHintFromName(named(hint), origin)).toEqual(hint);
    expect(prefetchHintFromName(named({ ...hint, mode: undefined }), origin)).toEqual({ manifestUrl: hint.manifestUrl, kernel: "debian", lab: "week-3" });
  });

  it("has no hint for the plain name, and ignores anything malformed", () => {
    const good = { manifestUrl: `${origin}/images/manifest.json`, kernel: "lean", lab: "default", mode: "auto" };
    expect(prefetchHintFromName("umlab-emulator", origin)).toBeUndefined();
    expect(prefetchHintFromName("umlab-emulator {not json", origin)).toBeUndefined();
    expect(prefetchHintFromName("umlab-emulator null", origin)).toBeUndefined();
    expect(prefetchHintFromName(`other ${JSON.stringify(good)}`, origin)).toBeUndefined();
    expect(prefetchHintFromName(named({ ...good, kernel: "vmlinux" }), origin)).toBeUndefined();
    expect(prefetchHintFromName(named({ ...good, lab: 7 }), origin)).toBeUndefined();
    // A cold boot or a chosen session is not a head start's to guess.
    expect(prefetchHintFromName(named({ ...good, mode: "cold" }), origin)).toBeUndefined();
    expect(prefetchHintFromName(named({ ...good, mode: { session: "s1" } }), origin)).toBeUndefined();
    // Images from another origin are never fetched on a name's say-so.
    expect(prefetchHintFromName(named({ ...good, manifestUrl: "https://example.org/images/manifest.json" }), origin)).toBeUndefined();
    expect(prefetchHintFromName(named({ ...good, manifestUrl: "not a url" }), origin)).toBeUndefined();
  });
});
