import { describe, expect, it } from "vitest";
import { routeTcp } from "./router.ts";
import type { OutsideStream, StreamSink, TcpConnector } from "./transport.ts";

const sink: StreamSink = { data: () => {}, end: () => {}, error: () => {}, drain: () => {} };
const outside: OutsideStream = { write: () => {}, end: () => {}, abort: () => {}, buffered: 0, pause: () => {}, resume: () => {} };

function recorder(name: string, log: string[]): TcpConnector {
  return (target) => {
    log.push(`${name} ${target.hostname ?? target.ip}:${target.port}`);
    return Promise.resolve(outside);
  };
}

describe("routeTcp", () => {
  it("sends everything to the relay when there is one, the gateway as the relay's loopback", async () => {
    const log: string[] = [];
    const route = routeTcp({ gateway: "10.0.2.2", relay: recorder("relay", log), fetch: recorder("fetch", log) });
    await route({ ip: "10.0.2.2", port: 8080 }, sink);
    await route({ ip: "198.18.0.1", port: 443, hostname: "example.org" }, sink);
    expect(log).toEqual(["relay 127.0.0.1:8080", "relay example.org:443"]);
  });

  it("falls back to fetch without a relay, and page services win over both", async () => {
    const log: string[] = [];
    const route = routeTcp({ gateway: "10.0.2.2", fetch: recorder("fetch", log), services: new Map([["10.0.2.2:9999", recorder("page", log)]]) });
    await route({ ip: "10.0.2.2", port: 8080 }, sink);
    await route({ ip: "10.0.2.2", port: 9999 }, sink);
    expect(log).toEqual(["fetch 10.0.2.2:8080", "page 10.0.2.2:9999"]);
  });
});
