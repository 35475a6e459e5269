import { describe, expect, it } from "vitest";
import type { NetworkStatus } from "../workers/api.ts";
import { addresses, NO_RELAY_TEXT, portsNote, previewLine, previewPath, transportLine } from "./network-state.ts";

/** The parts of a NetworkStatus the panel's lines read. */
function status(overrides: Partial<Pick<NetworkStatus, "relay" | "leases" | "umlAddress">> = {}): Pick<NetworkStatus, "relay" | "leases" | "umlAddress"> {
  return { leases: [], ...overrides };
}

describe("transportLine", () => {
  const relay = { url: "wss://relay.example/wisp/", source: "address" as const };

  it("says plainly that there is no relay and what still works", () => {
    expect(transportLine({ url: undefined, source: "none" }, undefined)).toEqual({ text: NO_RELAY_TEXT, tone: "warn" });
    expect(transportLine({ url: undefined, source: "none" }, status())).toEqual({ text: NO_RELAY_TEXT, tone: "warn" });
    expect(NO_RELAY_TEXT).toContain("10.0.2.2");
  });
  it("names the relay, where it came from, and its state", () => {
    expect(transportLine(relay, undefined)).toEqual({ text: "Wisp relay wss://relay.example/wisp/ (from ?relay=): starts with the lab", tone: "muted" });
    expect(transportLine(relay, status({ relay: { url: relay.url, state: "connecting", streams: 0 } })).tone).toBe("busy");
    expect(transportLine({ ...relay, source: "dev-server" }, status({ relay: { url: relay.url, state: "open", streams: 1 } }))).toEqual({
      text: "Wisp relay wss://relay.example/wisp/ (the dev server's): open, 1 stream",
      tone: "good",
    });
    expect(transportLine(relay, status({ relay: { url: relay.url, state: "open", streams: 3 } })).text).toContain("open, 3 streams");
  });
  it("says what a closed relay leaves, with its error", () => {
    const line = transportLine({ ...relay, source: "build" }, status({ relay: { url: relay.url, state: "closed", streams: 0, error: "connection refused" } }));
    expect(line.tone).toBe("bad");
    expect(line.text).toContain("(from this build): closed (connection refused)");
    expect(line.text).toContain("only fetch and localhost via 10.0.2.2 work");
  });
  it("calls a relay closed without an error idle, since it connects on first use", () => {
    expect(transportLine(relay, status({ relay: { url: relay.url, state: "closed", streams: 0 } }))).toEqual({
      text: "Wisp relay wss://relay.example/wisp/ (from ?relay=): idle, connects when the guest first needs it",
      tone: "muted",
    });
  });
  it("flags a machine that runs without the relay the page asked for", () => {
    expect(transportLine(relay, status()).tone).toBe("warn");
  });
});

describe("addresses", () => {
  it("shows UML's and the host's leases, or a dash", () => {
    expect(addresses(undefined)).toEqual({ uml: "—", host: "—" });
    expect(
      addresses(
        status({
          umlAddress: "10.0.2.16",
          leases: [
            { mac: "52:54:00:12:34:56", ip: "10.0.2.16", owner: "uml" },
            { mac: "52:54:00:aa:bb:cc", ip: "10.0.2.15", owner: "host" },
          ],
        }),
      ),
    ).toEqual({ uml: "10.0.2.16", host: "10.0.2.15" });
  });
});

describe("the preview and the ports", () => {
  it("explains an unusable preview and stays quiet when it works", () => {
    expect(previewLine({ state: "ready" }).text).toBe("");
    expect(previewLine({ state: "unavailable", reason: "SecurityError" })).toEqual({ text: "Preview addresses (/guest/<port>/) do not work in this browser: SecurityError", tone: "bad" });
  });
  it("says why the port list is empty", () => {
    expect(portsNote(false, [80])).toBe("UML is not running");
    expect(portsNote(true, [])).toContain("httpd -p 80");
    expect(portsNote(true, [80])).toBe("");
  });
  it("maps a port to its preview address", () => {
    expect(previewPath(8080)).toBe("/guest/8080/");
  });
});
