import { describe, expect, it } from "vitest";
import { bootModeFromSearch, dohFromSearch, emulatorWorkerName, manifestUrlFor, prefetchHintFor, networkBackendFromSearch, relayDnsFromSearch, kernelFromSearch, labFromSearch, relayFromSearch, urlWithKernel, urlWithout, type RelayDefaults } from "./options.ts";

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

describe("relayFromSearch", () => {
  const dev: RelayDefaults = { buildRelay: undefined, dev: true, pageUrl: "http://127.0.0.1:5173/?lab=x" };
  const prod: RelayDefaults = { buildRelay: undefined, dev: false, pageUrl: "https://lab.example/" };

  it("uses the dev server's own /wisp/ in dev, with the page's host and a matching scheme", () => {
    expect(relayFromSearch("", dev)).toEqual({ ok: true, relayUrl: "ws://127.0.0.1:5173/wisp/", source: "dev-server" });
    expect(relayFromSearch("", { ...dev, pageUrl: "https://box.local:8443/" })).toEqual({ ok: true, relayUrl: "wss://box.local:8443/wisp/", source: "dev-server" });
  });
  it("gives a production build without VITE_UMLAB_RELAY no relay", () => {
    expect(relayFromSearch("", prod)).toEqual({ ok: true, relayUrl: undefined, source: "none" });
    expect(relayFromSearch("?relay=", prod)).toEqual({ ok: true, relayUrl: undefined, source: "none" });
  });
  it("takes the build's relay over the dev server's", () => {
    expect(relayFromSearch("", { ...dev, buildRelay: "wss://relay.example/wisp/" })).toEqual({ ok: true, relayUrl: "wss://relay.example/wisp/", source: "build" });
    expect(relayFromSearch("", { ...prod, buildRelay: "wss://relay.example/wisp/" })).toEqual({ ok: true, relayUrl: "wss://relay.example/wisp/", source: "build" });
    expect(relayFromSearch("", { ...dev, buildRelay: "none" })).toEqual({ ok: true, relayUrl: undefined, source: "none" });
  });
  it("lets ?relay= override both, and ?relay=none turn the relay off", () => {
    const built = { ...dev, buildRelay: "wss://relay.example/wisp/" };
    expect(relayFromSearch(`?relay=${encodeURIComponent("ws://10.1.2.3:8080/")}`, built)).toEqual({ ok: true, relayUrl: "ws://10.1.2.3:8080/", source: "address" });
    expect(relayFromSearch("?relay=none", built)).toEqual({ ok: true, relayUrl: undefined, source: "none" });
    expect(relayFromSearch("?relay=none", dev)).toEqual({ ok: true, relayUrl: undefined, source: "none" });
  });
  it("reports a malformed ?relay= instead of falling back", () => {
    for (const [bad, why] of [
      ["relay.example", "not a URL"],
      ["https://relay.example/wisp/", "https: URL"],
      ["ftp://x/", "ftp: URL"],
    ] as const) {
      const choice = relayFromSearch(`?relay=${encodeURIComponent(bad)}`, dev);
      expect(choice.ok).toBe(false);
      if (!choice.ok) {
        expect(choice.value).toBe(bad);
        expect(choice.message).toContain(why);
        expect(choice.message).toContain("?relay=none");
      }
    }
  });
  it("refuses ws:// to another machine from an https page, which the browser would block", () => {
    const choice = relayFromSearch(`?relay=${encodeURIComponent("ws://relay.example/")}`, prod);
    expect(choice.ok).toBe(false);
    if (!choice.ok) expect(choice.message).toContain("wss://");
    expect(relayFromSearch(`?relay=${encodeURIComponent("ws://127.0.0.1:9000/")}`, prod)).toEqual({ ok: true, relayUrl: "ws://127.0.0.1:9000/", source: "address" });
  });
  it("reports a malformed VITE_UMLAB_RELAY as the build's fault", () => {
    const choice = relayFromSearch("", { ...prod, buildRelay: "relay.example:80" });
    expect(choice.ok).toBe(false);
    if (!choice.ok) expect(choice.message).toContain("VITE_UMLAB_RELAY");
  });
});

describe("dohFromSearch", () => {
  it("is off unless asked for", () => {
    expect(dohFromSearch("")).toEqual({ ok: true, dohUrl: undefined });
    expect(dohFromSearch("?doh=")).toEqual({ ok: true, dohUrl: undefined });
  });
  it("accepts an http(s) URL", () => {
    expect(dohFromSearch(`?doh=${encodeURIComponent("https://dns.example/dns-query")}`)).toEqual({ ok: true, dohUrl: "https://dns.example/dns-query" });
  });
  it("reports anything else", () => {
    for (const bad of ["dns.example", "ws://dns.example/"]) {
      const choice = dohFromSearch(`?doh=${encodeURIComponent(bad)}`);
      expect(choice.ok).toBe(false);
      if (!choice.ok) expect(choice.message).toContain("https://");
    }
  });
});

describe("networkBackendFromSearch", () => {
  it("is umlab's stack unless the benchmark asks for v86's fetch backend", () => {
    expect(networkBackendFromSearch("")).toBe("umlab");
    expect(networkBackendFromSearch("?net=other")).toBe("umlab");
    expect(networkBackendFromSearch("?relay=none&net=v86-fetch")).toBe("v86-fetch");
  });
});

describe("relayDnsFromSearch", () => {
  it("takes an IPv4 address with an optional port, 53 by default", () => {
    expect(relayDnsFromSearch("")).toEqual({ ok: true, relayDns: undefined });
    expect(relayDnsFromSearch("?dns=1.1.1.1")).toEqual({ ok: true, relayDns: "1.1.1.1:53" });
    expect(relayDnsFromSearch("?dns=192.0.2.53:5353")).toEqual({ ok: true, relayDns: "192.0.2.53:5353" });
  });
  it("refuses names, bad octets and bad ports with the reason", () => {
    for (const bad of ["dns.google", "1.2.3.256", "1.2.3.4:0", "1.2.3.4:70000"]) {
      const choice = relayDnsFromSearch(`?dns=${bad}`);
      expect(choice.ok).toBe(false);
      if (!choice.ok) expect(choice.message).toContain(bad);
    }
  });
});

describe("prefetchHintFor", () => {
  it("names the boot the page will ask for at once: lab, kernel and the manifest next to the page", () => {
    expect(prefetchHintFor("http://127.0.0.1:5173/")).toEqual({ manifestUrl: "http://127.0.0.1:5173/images/manifest.json", kernel: "lean", lab: "default", mode: "auto" });
    expect(prefetchHintFor("http://h/?kernel=debian&lab=week-3#x")).toEqual({ manifestUrl: "http://h/images/manifest.json", kernel: "debian", lab: "week-3", mode: "auto" });
    expect(manifestUrlFor("http://h/sub/page?x=1")).toBe("http://h/images/manifest.json");
  });

  it("has none where the page would not boot at once, or would cold boot", () => {
    expect(prefetchHintFor("http://h/?boot=cold")).toBeUndefined();
    expect(prefetchHintFor("http://h/?lab=Bad_Name")).toBeUndefined();
    expect(prefetchHintFor("http://h/?kernel=vmlinux")).toBeUndefined();
    expect(prefetchHintFor("http://h/?boot=warm")).toBeUndefined();
    expect(prefetchHintFor("http://h/guest/8080/")).toBeUndefined();
  });

  it("goes into the worker's name, where the worker reads it as JSON", () => {
    const hint = { manifestUrl: "http://h/images/manifest.json", kernel: "lean" as const, lab: "default", mode: "auto" as const };
    expect(emulatorWorkerName(undefined)).toBe("umlab-emulator");
    expect(emulatorWorkerName(hint)).toBe(`umlab-emulator {"manifestUrl":"http://h/images/manifest.json","kernel":"lean","lab":"default","mode":"auto"}`);
  });
});
