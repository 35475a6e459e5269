import { describe, expect, it } from "vitest";
import { kernelFromSearch, urlWithKernel } from "./options.ts";

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
