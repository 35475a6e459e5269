import { describe, expect, it } from "vitest";
import { bootModeFromSearch, kernelFromSearch, labFromSearch, urlWithKernel, urlWithout } from "./options.ts";

describe("kernelFromSearch", () => {
  it("defaults to lean", () => {
    expect(kernelFromSearch("")).toEqual({ ok: true, kernel: "lean" });
    expect(kernelFromSearch("?kernel=")).toEqual({ ok: true, kernel: "lean" });
    expect(kernelFromSearch("?other=1")).toEqual({ ok: true, kernel: "lean" });
  });
  it("accepts the known flavours", () => {
    expect(kernelFromSearch("?kernel=debian")).toEqual({ ok: true, kernel: "debian" });
    expect(kernelFromSearch("?a=b&kernel=lean")).toEqual({ ok: true, kernel: "lean" });
  });
  it("reports unknown values instead of guessing", () => {
    const choice = kernelFromSearch("?kernel=Debian");
    expect(choice.ok).toBe(false);
    if (!choice.ok) {
      expect(choice.value).toBe("Debian");
      expect(choice.message).toContain('"Debian"');
      expect(choice.message).toContain("lean, debian");
    }
  });
});

describe("urlWithKernel", () => {
  it("sets or replaces the parameter and keeps the rest", () => {
    expect(urlWithKernel("http://h:1/?x=1#frag", "debian")).toBe("http://h:1/?x=1&kernel=debian#frag");
    expect(urlWithKernel("http://h:1/?kernel=bogus", "lean")).toBe("http://h:1/?kernel=lean");
  });
});

describe("labFromSearch", () => {
  it("defaults to the default lab", () => {
    expect(labFromSearch("")).toEqual({ ok: true, lab: "default" });
    expect(labFromSearch("?lab=")).toEqual({ ok: true, lab: "default" });
  });
  it("accepts short lowercase names with digits and dashes", () => {
    expect(labFromSearch("?lab=net-lab-2")).toEqual({ ok: true, lab: "net-lab-2" });
    expect(labFromSearch(`?lab=${"a".repeat(32)}`)).toEqual({ ok: true, lab: "a".repeat(32) });
  });
  it("reports anything else", () => {
    for (const bad of ["Lab", "a_b", "a b", "a/b", "a".repeat(33), "é"]) {
      const choice = labFromSearch(`?lab=${encodeURIComponent(bad)}`);
      expect(choice.ok).toBe(false);
      if (!choice.ok) {
        expect(choice.value).toBe(bad);
        expect(choice.message).toContain("a-z, 0-9");
      }
    }
  });
});

describe("bootModeFromSearch", () => {
  it("defaults to auto and accepts cold", () => {
    expect(bootModeFromSearch("")).toEqual({ ok: true, mode: "auto" });
    expect(bootModeFromSearch("?boot=auto")).toEqual({ ok: true, mode: "auto" });
    expect(bootModeFromSearch("?boot=cold&kernel=lean")).toEqual({ ok: true, mode: "cold" });
  });
  it("reports unknown modes", () => {
    const choice = bootModeFromSearch("?boot=warm");
    expect(choice.ok).toBe(false);
    if (!choice.ok) expect(choice.message).toContain("auto, cold");
  });
});

describe("urlWithout", () => {
  it("drops one parameter and keeps the rest", () => {
    expect(urlWithout("http://h:1/?lab=BAD&kernel=lean#x", "lab")).toBe("http://h:1/?kernel=lean#x");
  });
});
