import dgram from "node:dgram";
import http from "node:http";
import net from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import type { StreamSink, TcpTarget } from "../workers/net/transport.ts";
import { CLOSE_BLOCKED, CLOSE_INVALID_INFO, CLOSE_UNREACHABLE, dnsOverWisp, STREAM_TCP, STREAM_UDP, WispClient, wispConnector, type WispSocketConstructor } from "../workers/net/wisp.ts";
import { attachWispRelay, checkDestination, classifyAddress, relayOptionsFromEnv, umlabWisp, type WispRelay, type WispRelayOptions } from "./wisp-relay.ts";

const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString("latin1");

/** A sink that collects the stream and settles when it ends either way. */
function recorder() {
  const chunks: Buffer[] = [];
  let outcome: "end" | string | undefined;
  let settle: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (settle = resolve));
  const sink: StreamSink = {
    data: (bytes) => chunks.push(Buffer.from(bytes)),
    end: () => {
      outcome = "end";
      settle();
    },
    error: (reason) => {
      outcome = `error: ${reason}`;
      settle();
    },
    drain: () => undefined,
  };
  return { sink, done, outcome: () => outcome, body: () => Buffer.concat(chunks) };
}

async function listen(server: http.Server | net.Server, host = "127.0.0.1"): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("no port");
  return address.port;
}

/** A `ws` client that sends the given headers (a browser sends Origin by itself). */
const socketWith = (headers: Record<string, string>): WispSocketConstructor =>
  class extends WebSocket {
    constructor(url: string) {
      super(url, { headers });
    }
  };

describe("classifyAddress", () => {
  it.each([
    ["8.8.8.8", "public"],
    ["93.184.215.14", "public"],
    ["127.0.0.1", "loopback"],
    ["127.255.0.9", "loopback"],
    ["0.0.0.0", "loopback"],
    ["10.1.2.3", "private"],
    ["172.16.0.1", "private"],
    ["172.31.255.255", "private"],
    ["172.32.0.1", "public"],
    ["192.168.1.1", "private"],
    ["169.254.169.254", "private"],
    ["100.64.0.1", "private"],
    ["100.128.0.1", "public"],
    ["224.0.0.1", "reserved"],
    ["255.255.255.255", "reserved"],
    ["192.0.2.1", "reserved"],
    ["::1", "loopback"],
    ["::", "loopback"],
    ["::ffff:127.0.0.1", "loopback"],
    ["::ffff:7f00:1", "loopback"],
    ["::ffff:10.0.0.1", "private"],
    ["::ffff:8.8.8.8", "public"],
    ["64:ff9b::a00:1", "private"],
    ["2002:c0a8:101::1", "private"],
    ["fd00::1", "private"],
    ["fe80::1%eth0", "private"],
    ["ff02::1", "reserved"],
    ["2001:db8::1", "reserved"],
    ["2606:4700:4700::1111", "public"],
    ["example.com", undefined],
    ["2130706433", undefined],
  ])("%s is %s", (ip, kind) => {
    expect(classifyAddress(ip)).toBe(kind);
  });
});

describe("checkDestination", () => {
  const lookup = async (name: string): Promise<string[]> => {
    const table: Record<string, string[]> = { "public.test": ["93.184.215.14"], "split.test": ["93.184.215.14", "10.0.0.5"], "localhost": ["127.0.0.1", "::1"] };
    const found = table[name];
    if (!found) throw new Error(`getaddrinfo ENOTFOUND ${name}`);
    return found;
  };

  it("passes public destinations with the address to connect to, and refuses the rest by default", async () => {
    expect(await checkDestination({ lookup }, STREAM_TCP, "public.test", 80)).toEqual({ ok: true, address: "93.184.215.14" });
    expect(await checkDestination({ lookup }, STREAM_UDP, "8.8.8.8", 53)).toEqual({ ok: true, address: "8.8.8.8" });
    // One private address among a name's answers is enough to refuse it (no rebinding by order).
    expect(await checkDestination({ lookup }, STREAM_TCP, "split.test", 80)).toMatchObject({ ok: false, reason: CLOSE_BLOCKED, why: "split.test (10.0.0.5) is a private address (allowPrivate, UMLAB_WISP_ALLOW_PRIVATE=1)" });
    expect(await checkDestination({ lookup }, STREAM_TCP, "localhost", 80)).toMatchObject({ ok: false, reason: CLOSE_BLOCKED });
    expect(await checkDestination({ lookup }, STREAM_TCP, "[::ffff:127.0.0.1]", 80)).toMatchObject({ ok: false, reason: CLOSE_BLOCKED });
    expect(await checkDestination({ lookup }, STREAM_TCP, "nowhere.test", 80)).toMatchObject({ ok: false, reason: CLOSE_UNREACHABLE, why: "nowhere.test did not resolve (getaddrinfo ENOTFOUND nowhere.test)" });
    expect(await checkDestination({ lookup }, 7, "8.8.8.8", 80)).toMatchObject({ ok: false, reason: CLOSE_INVALID_INFO });
    expect(await checkDestination({ lookup }, STREAM_TCP, "8.8.8.8", 0)).toMatchObject({ ok: false, reason: CLOSE_INVALID_INFO });
    expect(await checkDestination({ lookup }, STREAM_TCP, "a b\u0000", 80)).toMatchObject({ ok: false, reason: CLOSE_INVALID_INFO });
    expect(await checkDestination({ lookup, allowUdp: false }, STREAM_UDP, "8.8.8.8", 53)).toMatchObject({ ok: false, reason: CLOSE_BLOCKED, why: "UDP is off" });
  });

  it("lets the allowances through, but never reserved addresses", async () => {
    expect(await checkDestination({ lookup, allowPrivate: true }, STREAM_TCP, "10.1.2.3", 22)).toEqual({ ok: true, address: "10.1.2.3" });
    expect(await checkDestination({ lookup, allowPrivate: true }, STREAM_TCP, "split.test", 80)).toEqual({ ok: true, address: "93.184.215.14" });
    expect(await checkDestination({ lookup, allowPrivate: true }, STREAM_TCP, "127.0.0.1", 22)).toMatchObject({ ok: false });
    expect(await checkDestination({ lookup, allowLoopback: true }, STREAM_TCP, "localhost", 5173)).toEqual({ ok: true, address: "127.0.0.1" });
    expect(await checkDestination({ lookup, allowLoopback: true }, STREAM_TCP, "192.168.1.1", 80)).toMatchObject({ ok: false });
    expect(await checkDestination({ lookup, allowLoopback: true, allowPrivate: true }, STREAM_TCP, "224.0.0.1", 80)).toMatchObject({ ok: false, why: "224.0.0.1 is a reserved address" });
  });
});

describe("relayOptionsFromEnv", () => {
  it("reads the off-switch and the allowances", () => {
    expect(relayOptionsFromEnv({ UMLAB_WISP: "0" })).toBeUndefined();
    expect(relayOptionsFromEnv({})).toEqual({});
    expect(relayOptionsFromEnv({ UMLAB_WISP: "1", UMLAB_WISP_ALLOW_PRIVATE: "1", UMLAB_WISP_ALLOW_LOOPBACK: "0" })).toEqual({ allowPrivate: true, allowLoopback: false });
  });
});

describe("the relay on a loopback HTTP server", () => {
  let web: http.Server;
  let webPort = 0;
  let hold: net.Server;
  let holdPort = 0;
  const held = new Set<net.Socket>();
  let dns: dgram.Socket;
  let dnsPort = 0;
  const logs: string[] = [];
  const servers: http.Server[] = [];
  const relays: WispRelay[] = [];
  const clients: WispClient[] = [];

  /** A loopback server with a relay attached; its URL and a client class sending this origin. */
  async function relayServer(options: WispRelayOptions, host = "127.0.0.1") {
    const server = http.createServer((_req, res) => res.end("page"));
    servers.push(server);
    relays.push(attachWispRelay(server, { log: (line) => logs.push(line), ...options }));
    const port = await listen(server, host);
    const origin = `http://127.0.0.1:${port}`;
    return { server, port, url: `ws://127.0.0.1:${port}/wisp/`, origin, WebSocket: socketWith({ Origin: origin }) };
  }
  const client = (url: string, WebSocketClass: WispSocketConstructor): WispClient => {
    const c = new WispClient({ url, WebSocket: WebSocketClass, retryDelayMs: 0, openTimeoutMs: 5000 });
    clients.push(c);
    return c;
  };
  const get = async (c: WispClient, target: TcpTarget) => {
    const rec = recorder();
    const stream = await c.tcp(target, rec.sink);
    stream.write(Buffer.from("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    await rec.done;
    return rec;
  };

  beforeAll(async () => {
    web = http.createServer((_req, res) => res.end("hello from loopback"));
    webPort = await listen(web);
    // Accepts and keeps connections open: streams to it stay open.
    hold = net.createServer((socket) => {
      held.add(socket);
      socket.on("close", () => held.delete(socket));
    });
    holdPort = await listen(hold);
    dns = dgram.createSocket("udp4");
    dns.on("message", (msg, rinfo) => {
      msg[2] = (msg[2] ?? 0) | 0x80;
      dns.send(msg, rinfo.port, rinfo.address);
    });
    await new Promise<void>((resolve) => dns.bind(0, "127.0.0.1", resolve));
    dnsPort = dns.address().port;
  });

  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
    for (const r of relays.splice(0)) r.close();
    for (const s of servers.splice(0)) {
      s.closeAllConnections();
      s.close();
    }
    logs.length = 0;
  });

  afterAll(() => {
    for (const socket of held) socket.destroy();
    hold.close();
    web.closeAllConnections();
    web.close();
    dns.close();
  });

  it("reaches the developer's loopback when allowLoopback is set, by address and by name", async () => {
    const relay = await relayServer({ allowLoopback: true });
    const c = client(relay.url, relay.WebSocket);
    const byAddress = await get(c, { ip: "127.0.0.1", port: webPort });
    expect(byAddress.outcome()).toBe("end");
    expect(text(byAddress.body())).toMatch(/^HTTP\/1\.1 200 OK[\s\S]*hello from loopback$/);
    const byName = await get(c, { ip: "10.0.2.2", port: webPort, hostname: "localhost" });
    expect(text(byName.body())).toMatch(/hello from loopback$/);
    const resolve = dnsOverWisp(c.udp, { host: "127.0.0.1", port: dnsPort });
    const reply = await resolve(Uint8Array.of(0x55, 0xaa, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0));
    expect([...reply.subarray(0, 3)]).toEqual([0x55, 0xaa, 0x81]);
    expect(relays[0]?.sockets).toBe(1);
  });

  it("refuses loopback, private and link-local destinations by default", async () => {
    const relay = await relayServer({});
    const c = client(relay.url, relay.WebSocket);
    for (const ip of ["127.0.0.1", "10.1.2.3", "192.168.1.1", "169.254.1.1", "100.64.0.1", "::ffff:127.0.0.1", "fd00::1"]) {
      const rec = await get(c, { ip, port: webPort });
      expect(rec.outcome(), ip).toBe("error: destination blocked by the relay (Wisp 0x48)");
    }
    expect((await get(c, { ip: "10.0.2.2", port: webPort, hostname: "localhost" })).outcome()).toMatch(/blocked/);
    const resolve = dnsOverWisp(c.udp, { host: "127.0.0.1", port: dnsPort });
    await expect(resolve(Uint8Array.of(1, 2, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0))).rejects.toThrow(/blocked/);
    expect(logs[0]).toMatch(/^umlab wisp: refused a stream from 127\.0\.0\.1: TCP 127\.0\.0\.1:\d+: 127\.0\.0\.1 is a loopback address/);
    expect(logs.some((line) => line.includes("TCP 10.1.2.3") && line.includes("private"))).toBe(true);
    // The WebSocket survived the refusals.
    expect(c.status().state).toBe("open");
  });

  it("refuses WebSockets from another origin, without an Origin, or under a foreign Host name", async () => {
    const relay = await relayServer({ allowLoopback: true });
    const foreign = client(relay.url, socketWith({ Origin: "http://evil.example" }));
    await expect(foreign.tcp({ ip: "127.0.0.1", port: webPort }, recorder().sink)).rejects.toThrow(/Unexpected server response: 403/);
    const bare = client(relay.url, WebSocket);
    await expect(bare.tcp({ ip: "127.0.0.1", port: webPort }, recorder().sink)).rejects.toThrow(/403/);
    // DNS rebinding: a page at evil.example:port whose name points at 127.0.0.1 is "same-origin" with itself.
    const rebound = client(relay.url, socketWith({ Host: `evil.example:${relay.port}`, Origin: `http://evil.example:${relay.port}` }));
    await expect(rebound.tcp({ ip: "127.0.0.1", port: webPort }, recorder().sink)).rejects.toThrow(/403/);
    expect(logs).toEqual([
      `umlab wisp: refused a WebSocket: Origin http://evil.example is not this server (127.0.0.1:${relay.port})`,
      "umlab wisp: refused a WebSocket: no Origin header (only pages of this server may use the relay)",
      `umlab wisp: refused a WebSocket: Host evil.example:${relay.port} is not a loopback name`,
    ]);
    // A page served as localhost is fine.
    const local = client(`ws://localhost:${relay.port}/wisp/`, socketWith({ Origin: `http://localhost:${relay.port}` }));
    expect((await get(local, { ip: "127.0.0.1", port: webPort })).outcome()).toBe("end");
  });

  it("caps the streams open at once on one WebSocket", async () => {
    const relay = await relayServer({ allowLoopback: true, maxStreams: 3 });
    const c = client(relay.url, relay.WebSocket);
    const open = await Promise.all([1, 2, 3].map(() => c.tcp({ ip: "127.0.0.1", port: holdPort }, recorder().sink)));
    const fourth = recorder();
    await c.tcp({ ip: "127.0.0.1", port: holdPort }, fourth.sink);
    await fourth.done;
    expect(fourth.outcome()).toBe("error: throttled by the relay (too many connections) (Wisp 0x49)");
    expect(logs.at(-1)).toMatch(/more than 3 streams open/);
    // Closing one makes room again.
    open[0]?.abort();
    const fifth = recorder();
    await c.tcp({ ip: "127.0.0.1", port: webPort }, fifth.sink).then((s) => s.write(Buffer.from("GET / HTTP/1.0\r\n\r\n")));
    await fifth.done;
    expect(fifth.outcome()).toBe("end");
  });

  it("caps the WebSockets open at once per client address", async () => {
    const relay = await relayServer({ allowLoopback: true, maxSockets: 2 });
    const first = client(relay.url, relay.WebSocket);
    const second = client(relay.url, relay.WebSocket);
    await first.tcp({ ip: "127.0.0.1", port: holdPort }, recorder().sink);
    await second.tcp({ ip: "127.0.0.1", port: holdPort }, recorder().sink);
    const third = client(relay.url, relay.WebSocket);
    await expect(third.tcp({ ip: "127.0.0.1", port: holdPort }, recorder().sink)).rejects.toThrow(/Unexpected server response: 429/);
    first.close();
    for (let i = 0; i < 100 && relays[0]?.sockets !== 1; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    await new Promise((resolve) => setTimeout(resolve, 20));
    await third.tcp({ ip: "127.0.0.1", port: holdPort }, recorder().sink);
    expect(third.status().state).toBe("open");
  });

  it("refuses to relay when the server listens beyond loopback", async () => {
    const relay = await relayServer({ allowLoopback: true }, "0.0.0.0");
    const c = client(relay.url, relay.WebSocket);
    await expect(c.tcp({ ip: "127.0.0.1", port: webPort }, recorder().sink)).rejects.toThrow(/403/);
    expect(logs).toEqual(["umlab wisp: relay refused: the server listens on 0.0.0.0, not on loopback, so anyone who reaches it could use the relay. Listen on 127.0.0.1, or set UMLAB_WISP=0."]);
  });

  it("leaves other upgrade paths to other listeners", async () => {
    const relay = await relayServer({});
    relay.server.on("upgrade", (req: http.IncomingMessage, socket: net.Socket) => {
      if (req.url === "/other") socket.end("HTTP/1.1 418 I'm a teapot\r\nContent-Length: 0\r\n\r\n");
    });
    const other = new WebSocket(`ws://127.0.0.1:${relay.port}/other`, { headers: { Origin: relay.origin } });
    const status = await new Promise<number>((resolve) => {
      other.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
      other.on("error", () => undefined);
    });
    expect(status).toBe(418);
  });

  it("umlabWisp() attaches to Vite's dev and preview servers unless UMLAB_WISP=0", async () => {
    const lines: string[] = [];
    const logger = { info: (line: string) => lines.push(line), warn: (line: string) => lines.push(line) };
    type Hook = (server: { httpServer: http.Server; config: { logger: typeof logger } }) => void;
    const plugin = umlabWisp();
    const attach = async (hook: "configureServer" | "configurePreviewServer", env: string | undefined): Promise<http.Server> => {
      const previous = process.env.UMLAB_WISP;
      if (env === undefined) delete process.env.UMLAB_WISP;
      else process.env.UMLAB_WISP = env;
      try {
        const server = http.createServer();
        servers.push(server);
        (plugin[hook] as unknown as Hook)({ httpServer: server, config: { logger } });
        await listen(server);
        return server;
      } finally {
        if (previous === undefined) delete process.env.UMLAB_WISP;
        else process.env.UMLAB_WISP = previous;
      }
    };
    for (const hook of ["configureServer", "configurePreviewServer"] as const) {
      const server = await attach(hook, undefined);
      const { port } = server.address() as net.AddressInfo;
      const c = client(`ws://127.0.0.1:${port}/wisp/`, socketWith({ Origin: `http://127.0.0.1:${port}` }));
      // Loopback is allowed by default in the plugin: the guest's 10.0.2.2 is the developer's machine.
      expect((await get(c, { ip: "10.0.2.2", port: webPort, hostname: "127.0.0.1" })).outcome()).toBe("end");
      expect(server.listenerCount("upgrade")).toBe(1);
      // The relay goes with its server (Vite restarts servers on config changes).
      c.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      expect(server.listenerCount("upgrade")).toBe(0);
    }
    const off = await attach("configureServer", "0");
    expect(off.listenerCount("upgrade")).toBe(0);
    expect(lines).toEqual(["umlab: Wisp relay off (UMLAB_WISP=0)"]);
  });

  it("wispConnector() works against the relay as a plain TcpConnector", async () => {
    const relay = await relayServer({ allowLoopback: true });
    const connect = wispConnector({ url: relay.url, WebSocket: relay.WebSocket });
    const rec = recorder();
    const stream = await connect({ ip: "127.0.0.1", port: webPort }, rec.sink);
    stream.write(Buffer.from("GET / HTTP/1.0\r\n\r\n"));
    await rec.done;
    expect(text(rec.body())).toMatch(/hello from loopback$/);
  });
});
