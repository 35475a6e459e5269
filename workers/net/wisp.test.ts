import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { concatBytes } from "./http1.ts";
import type { StreamSink, TcpTarget } from "./transport.ts";
import {
  CLOSE_BLOCKED,
  CLOSE_NETWORK_ERROR,
  CLOSE_REFUSED,
  CLOSE_THROTTLED,
  CLOSE_VOLUNTARY,
  closeReasonText,
  decodePacket,
  dnsOverWisp,
  encodePacket,
  STREAM_TCP,
  STREAM_UDP,
  WispClient,
  wispConnector,
  type WispPacket,
  type WispSocket,
  type WispSocketConstructor,
  type WispSocketEvent,
} from "./wisp.ts";

// The worker's WebSocket class must fit the injected type (a compile-time check: Node 20 has no WebSocket).
type BrowserFits = typeof WebSocket extends WispSocketConstructor ? true : false;
const browserFits: BrowserFits = true;
void browserFits;

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
const bytesOf = (s: string): Uint8Array<ArrayBuffer> => new TextEncoder().encode(s);
const tick = (ms = 0): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const hex = (digest: ArrayBuffer): string => Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
const sha256 = async (bytes: Uint8Array<ArrayBuffer>): Promise<string> => hex(await crypto.subtle.digest("SHA-256", bytes));

/** A sink that records what the client told it, in order. */
function recorder() {
  const events: string[] = [];
  const chunks: Uint8Array[] = [];
  let settle: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (settle = resolve));
  const sink: StreamSink = {
    data: (bytes) => {
      chunks.push(bytes.slice());
      events.push(`data:${text(bytes)}`);
    },
    end: () => {
      events.push("end");
      settle();
    },
    error: (reason) => {
      events.push(`error:${reason}`);
      settle();
    },
    drain: () => events.push("drain"),
  };
  return { sink, events, chunks, done, received: () => concatBytes(chunks) };
}

// ---- A scripted WebSocket ----------------------------------------------------------------------------

class FakeSocket implements WispSocket {
  binaryType = "blob";
  readyState = 0;
  bufferedAmount = 0;
  /** Packets the client sent, decoded. */
  readonly sent: WispPacket[] = [];
  private readonly listeners = new Map<string, Array<(event: WispSocketEvent) => void>>();

  constructor(readonly url: string) {}

  send(data: Uint8Array<ArrayBuffer>): void {
    if (this.readyState !== 1) throw new Error("send on a socket that is not open");
    this.sent.push(decodePacket(data.slice()));
  }
  close(code?: number): void {
    if (this.readyState >= 2) return;
    this.readyState = 3;
    this.emit("close", { code: code ?? 1005 });
  }
  addEventListener(type: string, listener: (event: WispSocketEvent) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  // The server's side.
  emit(type: string, event: WispSocketEvent = {}): void {
    for (const listener of this.listeners.get(type) ?? []) listener(event);
  }
  /** Opens, and sends the initial CONTINUE that makes the connection usable. */
  accept(credit = 128): void {
    this.readyState = 1;
    this.emit("open");
    this.serve({ kind: "continue", stream: 0, remaining: credit });
  }
  serve(packet: WispPacket): void {
    this.emit("message", { data: encodePacket(packet).buffer });
  }
  drop(code = 1006, message?: string): void {
    if (message) this.emit("error", { message });
    this.readyState = 3;
    this.emit("close", { code });
  }
  dataFor(stream: number): string[] {
    return this.sent.flatMap((p) => (p.kind === "data" && p.stream === stream ? [text(p.data)] : []));
  }
}

function fakeRelay(options: { retryDelayMs?: number; openTimeoutMs?: number; maxPacketBytes?: number; socketHighWater?: number } = {}) {
  const sockets: FakeSocket[] = [];
  const WebSocketClass: WispSocketConstructor = class extends FakeSocket {
    constructor(url: string) {
      super(url);
      sockets.push(this);
    }
  };
  const client = new WispClient({ url: "ws://relay.test/wisp/", WebSocket: WebSocketClass, ...options });
  const socket = (i = 0): FakeSocket => {
    const s = sockets[i];
    if (!s) throw new Error(`no socket ${i}`);
    return s;
  };
  return { client, sockets, socket };
}

const target: TcpTarget = { ip: "93.184.215.14", port: 80, hostname: "example.com" };

describe("Wisp codec", () => {
  it("encodes every packet type as type u8, stream id u32 LE, payload", () => {
    expect([...encodePacket({ kind: "connect", stream: 0x01020304, streamType: STREAM_TCP, port: 8080, hostname: "a.b" })]).toEqual([1, 4, 3, 2, 1, 1, 0x90, 0x1f, 0x61, 0x2e, 0x62]);
    expect([...encodePacket({ kind: "connect", stream: 7, streamType: STREAM_UDP, port: 53, hostname: "1.1.1.1" })].slice(0, 8)).toEqual([1, 7, 0, 0, 0, 2, 53, 0]);
    expect([...encodePacket({ kind: "data", stream: 2, data: Uint8Array.of(9, 8) })]).toEqual([2, 2, 0, 0, 0, 9, 8]);
    expect([...encodePacket({ kind: "continue", stream: 0, remaining: 128 })]).toEqual([3, 0, 0, 0, 0, 128, 0, 0, 0]);
    expect([...encodePacket({ kind: "close", stream: 0xffffffff, reason: CLOSE_REFUSED })]).toEqual([4, 255, 255, 255, 255, 0x44]);
  });

  it("decodes what it encodes, including UTF-8 names and empty DATA", () => {
    const packets: WispPacket[] = [
      { kind: "connect", stream: 1, streamType: STREAM_TCP, port: 443, hostname: "bücher.example" },
      { kind: "data", stream: 3, data: new Uint8Array(0) },
      { kind: "data", stream: 3, data: bytesOf("hello") },
      { kind: "continue", stream: 9, remaining: 0xfffffffe },
      { kind: "close", stream: 4, reason: CLOSE_VOLUNTARY },
      { kind: "other", type: 5, stream: 0, payload: Uint8Array.of(2, 0) },
    ];
    for (const packet of packets) expect(decodePacket(encodePacket(packet))).toEqual(packet);
    // A view into a larger buffer decodes at its own offset.
    const framed = new Uint8Array(20);
    framed.set(encodePacket({ kind: "continue", stream: 5, remaining: 64 }), 7);
    expect(decodePacket(framed.subarray(7, 16))).toEqual({ kind: "continue", stream: 5, remaining: 64 });
  });

  it("rejects truncated packets", () => {
    expect(() => decodePacket(Uint8Array.of(2, 1, 0, 0))).toThrow(/header/);
    expect(() => decodePacket(Uint8Array.of(1, 1, 0, 0, 0, 1, 80))).toThrow(/CONNECT/);
    expect(() => decodePacket(Uint8Array.of(3, 1, 0, 0, 0, 1, 0, 0))).toThrow(/CONTINUE/);
    expect(() => decodePacket(Uint8Array.of(4, 1, 0, 0, 0))).toThrow(/CLOSE/);
  });

  it("names close reasons", () => {
    expect(closeReasonText(CLOSE_REFUSED)).toBe("connection refused (Wisp 0x44)");
    expect(closeReasonText(CLOSE_BLOCKED)).toMatch(/blocked by the relay/);
    expect(closeReasonText(CLOSE_THROTTLED)).toMatch(/too many connections/);
    expect(closeReasonText(0x42)).toMatch(/unreachable/);
    expect(closeReasonText(0x7e)).toBe("closed with an unknown reason (Wisp 0x7e)");
  });
});

describe("WispClient (scripted socket)", () => {
  it("opens one WebSocket lazily, waits for the first CONTINUE, and sends CONNECT by name or address", async () => {
    const { client, sockets, socket } = fakeRelay();
    expect(client.status().state).toBe("closed");
    const a = client.tcp(target, recorder().sink);
    const b = client.tcp({ ip: "10.0.2.9", port: 22 }, recorder().sink);
    expect(sockets).toHaveLength(1);
    expect(socket().url).toBe("ws://relay.test/wisp/");
    expect(socket().binaryType).toBe("arraybuffer");
    let resolved = false;
    void a.then(() => (resolved = true));
    socket().readyState = 1;
    socket().emit("open");
    await tick();
    // Open but no CONTINUE yet: not usable.
    expect(resolved).toBe(false);
    expect(client.status().state).toBe("connecting");
    socket().serve({ kind: "continue", stream: 0, remaining: 16 });
    await Promise.all([a, b]);
    expect(socket().sent).toEqual([
      { kind: "connect", stream: 1, streamType: STREAM_TCP, port: 80, hostname: "example.com" },
      { kind: "connect", stream: 2, streamType: STREAM_TCP, port: 22, hostname: "10.0.2.9" },
    ]);
    expect(client.status()).toMatchObject({ state: "open", streams: 2 });
    expect(sockets).toHaveLength(1);
  });

  it("rejects invalid targets without opening a socket", async () => {
    const { client, sockets } = fakeRelay();
    await expect(client.tcp({ ip: "1.2.3.4", port: 0 }, recorder().sink)).rejects.toThrow(/port/);
    await expect(client.tcp({ ip: "1.2.3.4", port: 80, hostname: "x".repeat(300) }, recorder().sink)).rejects.toThrow(/host name/);
    expect(sockets).toHaveLength(0);
  });

  it("never sends more DATA packets than the relay's CONTINUE allows, and drains as credit comes", async () => {
    const { client, socket } = fakeRelay({ maxPacketBytes: 4 });
    const rec = recorder();
    const opening = client.tcp(target, rec.sink);
    socket().accept(2);
    const stream = await opening;
    // Three ticks of writes: "aaaa", "bbbb", then "ccccdddd" (coalesced, split at 4 bytes).
    stream.write(bytesOf("aaaa"));
    await tick();
    stream.write(bytesOf("bbbb"));
    await tick();
    stream.write(bytesOf("cccc"));
    stream.write(bytesOf("dd"));
    stream.write(bytesOf("dd"));
    await tick();
    expect(socket().dataFor(1)).toEqual(["aaaa", "bbbb"]);
    expect(stream.buffered).toBe(8);
    expect(rec.events).toEqual(["drain", "drain"]);
    socket().serve({ kind: "continue", stream: 1, remaining: 1 });
    expect(socket().dataFor(1)).toEqual(["aaaa", "bbbb", "cccc"]);
    expect(stream.buffered).toBe(4);
    socket().serve({ kind: "continue", stream: 1, remaining: 5 });
    expect(socket().dataFor(1)).toEqual(["aaaa", "bbbb", "cccc", "dddd"]);
    expect(stream.buffered).toBe(0);
    // A CONTINUE for another stream does not release this one's bytes.
    stream.write(bytesOf("eeee"));
    stream.write(bytesOf("ffff"));
    socket().serve({ kind: "continue", stream: 1, remaining: 1 });
    await tick();
    expect(socket().dataFor(1).slice(4)).toEqual(["eeee"]);
    socket().serve({ kind: "continue", stream: 99, remaining: 100 });
    expect(socket().dataFor(1).slice(4)).toEqual(["eeee"]);
    // New streams start with the latest stream-0 credit.
    socket().serve({ kind: "continue", stream: 0, remaining: 1 });
    const second = await client.tcp(target, recorder().sink);
    second.write(bytesOf("1111"));
    second.write(bytesOf("2222"));
    await tick();
    expect(socket().dataFor(2)).toEqual(["1111"]);
  });

  it("holds TCP bytes while the WebSocket's send buffer is over its high-water mark", async () => {
    const { client, socket } = fakeRelay({ socketHighWater: 1000 });
    const opening = client.tcp(target, recorder().sink);
    socket().accept();
    const stream = await opening;
    socket().bufferedAmount = 5000;
    stream.write(bytesOf("late"));
    await tick(30);
    expect(socket().dataFor(1)).toEqual([]);
    expect(stream.buffered).toBe(4);
    socket().bufferedAmount = 0;
    await tick(30);
    expect(socket().dataFor(1)).toEqual(["late"]);
  });

  it("delivers data in order, holds it while paused, and ends after the held data", async () => {
    const { client, socket } = fakeRelay();
    const rec = recorder();
    const opening = client.tcp(target, rec.sink);
    socket().accept();
    const stream = await opening;
    socket().serve({ kind: "data", stream: 1, data: bytesOf("one") });
    stream.pause();
    socket().serve({ kind: "data", stream: 1, data: bytesOf("two") });
    socket().serve({ kind: "data", stream: 1, data: bytesOf("three") });
    socket().serve({ kind: "close", stream: 1, reason: CLOSE_VOLUNTARY });
    expect(rec.events).toEqual(["data:one"]);
    expect(client.status().streams).toBe(0);
    stream.resume();
    expect(rec.events).toEqual(["data:one", "data:two", "data:three", "end"]);
  });

  it("stops at a pause() the sink makes from inside data()", async () => {
    const { client, socket } = fakeRelay();
    const seen: string[] = [];
    let pauseFromSink = (): void => undefined;
    const opening = client.tcp(target, {
      data: (bytes) => {
        seen.push(text(bytes));
        pauseFromSink();
      },
      end: () => seen.push("end"),
      error: () => seen.push("error"),
      drain: () => undefined,
    });
    socket().accept();
    const stream = await opening;
    pauseFromSink = () => stream.pause();
    stream.pause();
    for (const word of ["a", "b", "c"]) socket().serve({ kind: "data", stream: 1, data: bytesOf(word) });
    stream.resume();
    expect(seen).toEqual(["a"]);
    stream.resume();
    expect(seen).toEqual(["a", "b"]);
  });

  it("reports a relay's CLOSE with its reason, and ignores writes after it", async () => {
    const { client, socket } = fakeRelay();
    const refused = recorder();
    const blocked = recorder();
    const opening = Promise.all([client.tcp(target, refused.sink), client.tcp(target, blocked.sink)]);
    socket().accept();
    const [first] = await opening;
    socket().serve({ kind: "close", stream: 1, reason: CLOSE_REFUSED });
    socket().serve({ kind: "close", stream: 2, reason: CLOSE_BLOCKED });
    expect(refused.events).toEqual(["error:connection refused (Wisp 0x44)"]);
    expect(blocked.events).toEqual(["error:destination blocked by the relay (Wisp 0x48)"]);
    first.write(bytesOf("too late"));
    await tick();
    expect(socket().dataFor(1)).toEqual([]);
    expect(first.buffered).toBe(0);
    // Data for a stream that is gone is ignored.
    socket().serve({ kind: "data", stream: 1, data: bytesOf("stray") });
    expect(refused.events).toHaveLength(1);
  });

  it("abort() sends CLOSE; end() keeps the stream open for the reply (Wisp v1 has no half-close)", async () => {
    const { client, socket } = fakeRelay();
    const rec = recorder();
    const opening = Promise.all([client.tcp(target, rec.sink), client.tcp(target, recorder().sink)]);
    socket().accept();
    const [kept, aborted] = await opening;
    kept.write(bytesOf("GET / HTTP/1.0\r\n\r\n"));
    kept.end();
    kept.write(bytesOf("after FIN"));
    aborted.abort();
    await tick();
    expect(socket().sent.filter((p) => p.kind === "close")).toEqual([{ kind: "close", stream: 2, reason: CLOSE_VOLUNTARY }]);
    expect(socket().dataFor(1)).toEqual(["GET / HTTP/1.0\r\n\r\n"]);
    socket().serve({ kind: "data", stream: 1, data: bytesOf("HTTP/1.0 200 OK\r\n\r\nhi") });
    socket().serve({ kind: "close", stream: 1, reason: CLOSE_VOLUNTARY });
    expect(rec.events).toEqual(["drain", "data:HTTP/1.0 200 OK\r\n\r\nhi", "end"]);
    expect(client.status().streams).toBe(0);
  });

  it("carries UDP datagrams one per DATA packet, without flow control", async () => {
    const { client, socket } = fakeRelay();
    const got: string[] = [];
    const opening = client.udp({ ip: "1.1.1.1", port: 53 }, { datagram: (b) => got.push(text(b)), error: (r) => got.push(`error:${r}`) });
    socket().accept(1);
    const flow = await opening;
    expect(socket().sent[0]).toEqual({ kind: "connect", stream: 1, streamType: STREAM_UDP, port: 53, hostname: "1.1.1.1" });
    for (const d of ["q1", "q2", "q3"]) flow.send(bytesOf(d));
    flow.send(new Uint8Array(70_000)); // larger than any UDP datagram: dropped
    expect(socket().dataFor(1)).toEqual(["q1", "q2", "q3"]);
    socket().serve({ kind: "data", stream: 1, data: bytesOf("r1") });
    socket().serve({ kind: "close", stream: 1, reason: CLOSE_NETWORK_ERROR });
    expect(got).toEqual(["r1", "error:network error (Wisp 0x03)"]);
    const second = await client.udp({ ip: "1.1.1.1", port: 53 }, { datagram: () => undefined, error: () => undefined });
    second.close();
    expect(socket().sent.at(-1)).toEqual({ kind: "close", stream: 2, reason: CLOSE_VOLUNTARY });
  });

  it("errors every stream when the WebSocket drops, then reconnects on the next stream", async () => {
    const { client, sockets, socket } = fakeRelay();
    const tcpA = recorder();
    const tcpB = recorder();
    const udpErrors: string[] = [];
    const opening = Promise.all([client.tcp(target, tcpA.sink), client.tcp(target, tcpB.sink), client.udp({ ip: "1.1.1.1", port: 53 }, { datagram: () => undefined, error: (r) => udpErrors.push(r) })]);
    socket().accept();
    const [a] = await opening;
    a.pause();
    socket().serve({ kind: "data", stream: 1, data: bytesOf("held") });
    socket().drop(1006, "read ECONNRESET");
    expect(tcpB.events).toEqual(["error:relay connection lost (code 1006: read ECONNRESET)"]);
    expect(udpErrors).toEqual(["relay connection lost (code 1006: read ECONNRESET)"]);
    // A paused stream gets its held bytes first, then the error.
    expect(tcpA.events).toEqual([]);
    a.resume();
    expect(tcpA.events).toEqual(["data:held", "error:relay connection lost (code 1006: read ECONNRESET)"]);
    expect(client.status()).toMatchObject({ state: "closed", streams: 0, error: "relay connection lost (code 1006: read ECONNRESET)" });
    const again = client.tcp(target, recorder().sink);
    expect(sockets).toHaveLength(2);
    socket(1).accept();
    await again;
    expect(socket(1).sent[0]).toMatchObject({ kind: "connect", stream: 4 });
    expect(client.status()).toEqual({ state: "open", streams: 1, bytesSent: expect.any(Number), bytesReceived: expect.any(Number) });
  });

  it("rejects streams when the WebSocket cannot open, and does not retry at once", async () => {
    const { client, sockets, socket } = fakeRelay({ retryDelayMs: 50 });
    const first = client.tcp(target, recorder().sink);
    socket().drop(1006, "Unexpected server response: 403");
    await expect(first).rejects.toThrow("could not open the relay connection to ws://relay.test/wisp/ (code 1006: Unexpected server response: 403)");
    await expect(client.tcp(target, recorder().sink)).rejects.toThrow(/403/);
    expect(sockets).toHaveLength(1);
    await tick(60);
    const later = client.tcp(target, recorder().sink);
    expect(sockets).toHaveLength(2);
    socket(1).accept();
    await later;
  });

  it("times out an open that never gets its first CONTINUE", async () => {
    const { client, socket } = fakeRelay({ openTimeoutMs: 20 });
    const opening = client.tcp(target, recorder().sink);
    socket().readyState = 1;
    socket().emit("open");
    await expect(opening).rejects.toThrow(/timed out after 20 ms/);
    expect(socket().readyState).toBe(3);
  });

  it("reports a WebSocket constructor that throws", async () => {
    const client = new WispClient({
      url: "nonsense",
      WebSocket: function () {
        throw new SyntaxError("Invalid URL");
      } as unknown as WispSocketConstructor,
    });
    await expect(client.tcp(target, recorder().sink)).rejects.toThrow("cannot open the relay connection to nonsense: Invalid URL");
    expect(client.status()).toMatchObject({ state: "closed", error: "cannot open the relay connection to nonsense: Invalid URL" });
  });

  it("close() ends streams and a later stream opens a new socket; text frames and INFO packets are ignored", async () => {
    const { client, sockets, socket } = fakeRelay();
    const rec = recorder();
    const opening = client.tcp(target, rec.sink);
    socket().accept();
    await opening;
    socket().emit("message", { data: "hello" });
    socket().serve({ kind: "other", type: 5, stream: 0, payload: Uint8Array.of(2, 0) });
    expect(client.status().state).toBe("open");
    client.close();
    expect(rec.events).toEqual(["error:relay client closed"]);
    expect(client.status()).toMatchObject({ state: "closed", streams: 0 });
    expect(client.status().error).toBeUndefined();
    void client.tcp(target, recorder().sink);
    expect(sockets).toHaveLength(2);
  });

  it("closes the WebSocket on a malformed packet", async () => {
    const { client, socket } = fakeRelay();
    const rec = recorder();
    const opening = client.tcp(target, rec.sink);
    socket().accept();
    await opening;
    socket().emit("message", { data: Uint8Array.of(4, 1, 0).buffer });
    expect(rec.events[0]).toMatch(/^error:relay sent a malformed packet/);
    expect(socket().readyState).toBe(3);
  });

  it("wispConnector() is the client's TCP connector", () => {
    const { client } = fakeRelay();
    expect(wispConnector(client)).toBe(client.tcp);
  });
});

describe("dnsOverWisp (scripted UDP)", () => {
  const query = Uint8Array.of(0xab, 0xcd, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0);
  const reply = (id: [number, number]): Uint8Array => Uint8Array.of(id[0], id[1], 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0);

  it("returns the reply with the query's ID, skipping strays, and closes its flow", async () => {
    const log: string[] = [];
    const resolve = dnsOverWisp(
      async (t, sink) => {
        log.push(`open ${t.hostname ?? t.ip}:${t.port}`);
        return {
          send: (bytes) => {
            log.push(`send ${bytes.length}`);
            sink.datagram(reply([1, 2]));
            sink.datagram(Uint8Array.of(0xab, 0xcd, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0)); // a query, not a reply
            sink.datagram(reply([0xab, 0xcd]));
          },
          close: () => log.push("close"),
        };
      },
      { host: "9.9.9.9" },
    );
    expect([...(await resolve(query))]).toEqual([...reply([0xab, 0xcd])]);
    expect(log).toEqual(["open 9.9.9.9:53", "send 12", "close"]);
  });

  it("times out, reports flow errors, and refuses non-queries", async () => {
    const silent = dnsOverWisp(async () => ({ send: () => undefined, close: () => undefined }), { host: "dns.example", port: 5353 }, { timeoutMs: 20 });
    await expect(silent(query)).rejects.toThrow("no DNS reply from dns.example:5353 within 20 ms");
    const failing = dnsOverWisp(async (_t, sink) => ({ send: () => sink.error("destination blocked by the relay (Wisp 0x48)"), close: () => undefined }), { host: "1.1.1.1" });
    await expect(failing(query)).rejects.toThrow("DNS via 1.1.1.1:53: destination blocked by the relay (Wisp 0x48)");
    const refused = dnsOverWisp(() => Promise.reject(new Error("no relay")), { host: "1.1.1.1" });
    await expect(refused(query)).rejects.toThrow("no relay");
    await expect(silent(Uint8Array.of(1, 2, 3))).rejects.toThrow(/not a DNS query/);
  });
});

// ---- Against a real Wisp server (@mercuryworkshop/wisp-js) -------------------------------------------

/**
 * Node modules, loaded by a name TypeScript does not resolve: a static import would pull @types/node's
 * globals into the workers/ type-check, where pure cores must not see them.
 */
const node = <T>(name: string): Promise<T> => import(/* @vite-ignore */ name) as Promise<T>;
interface IncomingMessage extends AsyncIterable<Uint8Array> {
  url?: string;
}
interface ServerResponse {
  writeHead(status: number, headers?: Record<string, string | number>): void;
  write(chunk: Uint8Array): boolean;
  end(chunk?: Uint8Array | string): void;
}
interface HttpServer {
  listen(port: number, host: string, listener: () => void): void;
  address(): { port: number };
  close(listener?: () => void): void;
  closeAllConnections(): void;
  on(event: "upgrade", listener: (req: unknown, socket: unknown, head: unknown) => void): void;
}
interface UdpSocket {
  bind(port: number, host: string, listener: () => void): void;
  address(): { port: number };
  on(event: "message", listener: (msg: Uint8Array, rinfo: { address: string; port: number }) => void): void;
  send(msg: Uint8Array, port: number, address: string): void;
  close(): void;
}
interface WispJsServer {
  server: { routeRequest(req: unknown, socket: unknown, head: unknown): void; options: Record<string, unknown> };
  logging: { set_level(level: number): void; NONE: number };
}

describe("WispClient against a real Wisp server (wisp-js)", () => {
  const MiB = 1 << 20;
  const big = Uint8Array.from({ length: 2 * MiB }, (_, i) => (i * 2654435761) >>> 24);
  let bigSha = "";
  let wispServer: HttpServer;
  let webServer: HttpServer;
  let udpServer: UdpSocket;
  let WS: WispSocketConstructor;
  let relayUrl = "";
  let webPort = 0;
  let udpPort = 0;
  let closedPort = 0;
  const clients: WispClient[] = [];
  /** The relay's side of each WebSocket, to cut them. */
  const upgraded: Array<{ destroy(): void }> = [];
  const newClient = (extra: { maxPacketBytes?: number; WebSocket?: WispSocketConstructor } = {}): WispClient => {
    const client = new WispClient({ url: relayUrl, WebSocket: WS, ...extra });
    clients.push(client);
    return client;
  };

  async function listen(server: HttpServer): Promise<number> {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return server.address().port;
  }

  beforeAll(async () => {
    bigSha = await sha256(big);
    const http = await node<{ createServer(handler?: (req: IncomingMessage, res: ServerResponse) => void): HttpServer }>("node:http");
    const dgram = await node<{ createSocket(type: "udp4"): UdpSocket }>("node:dgram");
    const wisp = await node<WispJsServer>("@mercuryworkshop/wisp-js/server");
    WS = (await node<{ WebSocket: WispSocketConstructor }>("ws")).WebSocket;
    wisp.logging.set_level(wisp.logging.NONE);
    // The destinations here are on loopback, which wisp-js refuses by default.
    wisp.server.options.allow_loopback_ips = true;

    webServer = http.createServer((req, res) => {
      void (async () => {
        if (req.url === "/big") {
          res.writeHead(200, { "Content-Length": big.length });
          res.end(big);
        } else if (req.url === "/echo") {
          // Streams the body back as it arrives: the upload is paced by the relay's CONTINUEs.
          res.writeHead(200, { "Content-Length": big.length });
          for await (const part of req) res.write(part);
          res.end();
        } else {
          res.writeHead(200, { "Content-Length": 2 });
          res.end("ok");
        }
      })();
    });
    webPort = await listen(webServer);
    const probe = http.createServer();
    closedPort = await listen(probe);
    await new Promise<void>((resolve) => probe.close(() => resolve()));

    wispServer = http.createServer();
    wispServer.on("upgrade", (req, socket, head) => {
      upgraded.push(socket as { destroy(): void });
      wisp.server.routeRequest(req, socket, head);
    });
    relayUrl = `ws://127.0.0.1:${await listen(wispServer)}/`;

    // A tiny DNS responder: echoes the question back as an answer-less reply, ID and all.
    udpServer = dgram.createSocket("udp4");
    udpServer.on("message", (msg, rinfo) => {
      const out = Uint8Array.from(msg);
      out[2] = (out[2] ?? 0) | 0x80;
      udpServer.send(out, rinfo.port, rinfo.address);
    });
    await new Promise<void>((resolve) => udpServer.bind(0, "127.0.0.1", resolve));
    udpPort = udpServer.address().port;
  });

  afterAll(async () => {
    for (const client of clients) client.close();
    udpServer.close();
    webServer.closeAllConnections();
    wispServer.closeAllConnections();
    await Promise.all([webServer, wispServer].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  });

  /** Sends `request` on a new stream and collects everything until the relay closes it. */
  async function exchange(client: WispClient, request: Uint8Array[], port = webPort) {
    const rec = recorder();
    const stream = await client.tcp({ ip: "127.0.0.1", port }, rec.sink);
    for (const part of request) stream.write(part);
    await rec.done;
    return { ...rec, stream };
  }

  const splitResponse = (bytes: Uint8Array): { head: string; body: Uint8Array<ArrayBuffer> } => {
    const raw = new TextDecoder("latin1").decode(bytes.subarray(0, 4096));
    const end = raw.indexOf("\r\n\r\n");
    return { head: raw.slice(0, end), body: bytes.slice(end + 4) };
  };

  it("downloads 2 MB over HTTP through the relay, intact", async () => {
    const client = newClient();
    const started = performance.now();
    const { events, received } = await exchange(client, [bytesOf("GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")]);
    const seconds = (performance.now() - started) / 1000;
    expect(events.at(-1)).toBe("end");
    const { head, body } = splitResponse(received());
    expect(head).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(body.length).toBe(big.length);
    expect(await sha256(body)).toBe(bigSha);
    console.info(`wisp-js download: 2 MiB in ${(seconds * 1000).toFixed(0)} ms = ${(2 / seconds).toFixed(1)} MiB/s`);
  });

  it("uploads 2 MB in guest-sized DATA packets, never exceeding the server's CONTINUE credit", async () => {
    // A socket that watches the credit from the wire: each stream's last CONTINUE minus DATA sent since.
    const credit = new Map<number, number>();
    let initial = 0;
    let continues = 0;
    let violations = 0;
    let packets = 0;
    const Spy = class extends WS {
      constructor(url: string) {
        super(url);
        this.addEventListener("message", (event) => {
          if (!(event.data instanceof ArrayBuffer)) return;
          const packet = decodePacket(new Uint8Array(event.data));
          if (packet.kind !== "continue") return;
          if (packet.stream === 0) initial = packet.remaining;
          else {
            credit.set(packet.stream, packet.remaining);
            continues++;
          }
        });
      }
      override send(data: Uint8Array<ArrayBuffer>): void {
        const packet = decodePacket(data);
        if (packet.kind === "connect") credit.set(packet.stream, initial);
        if (packet.kind === "data") {
          packets++;
          const left = (credit.get(packet.stream) ?? 0) - 1;
          credit.set(packet.stream, left);
          if (left < 0) violations++;
        }
        super.send(data);
      }
    };
    const client = newClient({ WebSocket: Spy, maxPacketBytes: 1460 });
    const started = performance.now();
    const rec = recorder();
    const stream = await client.tcp({ ip: "127.0.0.1", port: webPort }, rec.sink);
    stream.write(bytesOf(`POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: ${big.length}\r\nConnection: close\r\n\r\n`));
    for (let at = 0; at < big.length; at += 16 * 1024) stream.write(big.subarray(at, at + 16 * 1024));
    let maxBuffered = stream.buffered;
    const watch = setInterval(() => (maxBuffered = Math.max(maxBuffered, stream.buffered)), 1);
    await rec.done;
    clearInterval(watch);
    const seconds = (performance.now() - started) / 1000;
    expect(rec.events.at(-1)).toBe("end");
    const { head, body } = splitResponse(rec.received());
    expect(head).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(await sha256(body)).toBe(bigSha);
    expect(initial).toBeGreaterThan(0);
    // 2 MiB in 1460-byte packets is ~1440 packets: far beyond one window, so CONTINUEs paced it.
    expect(packets).toBeGreaterThan(initial * 4);
    expect(continues).toBeGreaterThan(4);
    expect(violations).toBe(0);
    expect(maxBuffered).toBeGreaterThan(0);
    expect(rec.events).toContain("drain");
    console.info(`wisp-js echo: 2 MiB up + 2 MiB down in ${(seconds * 1000).toFixed(0)} ms (${packets} DATA packets, ${continues} CONTINUEs)`);
  });

  it("carries many streams at once over one WebSocket", async () => {
    const client = newClient();
    const results = await Promise.all(Array.from({ length: 20 }, () => exchange(client, [bytesOf("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")])));
    for (const { received } of results) expect(splitResponse(received()).body).toEqual(bytesOf("ok"));
    expect(client.status()).toMatchObject({ state: "open", streams: 0 });
  });

  it("reports a refused connection as a stream error", async () => {
    const client = newClient();
    const { events } = await exchange(client, [], closedPort);
    expect(events).toEqual(["error:network error (Wisp 0x03)"]);
  });

  it("answers DNS over a UDP stream, and echoes datagrams", async () => {
    const client = newClient();
    const resolve = dnsOverWisp(client.udp, { host: "127.0.0.1", port: udpPort });
    const query = Uint8Array.of(0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 0x77, 0x77, 0x77, 0, 0, 1, 0, 1);
    const answer = await resolve(query);
    expect(answer[0]).toBe(0x12);
    expect(answer[2]).toBe(0x81);
    expect(answer.subarray(3)).toEqual(query.subarray(3));
    const got: string[] = [];
    const flow = await client.udp({ ip: "127.0.0.1", port: udpPort }, { datagram: (b) => got.push(text(b.subarray(12))), error: (r) => got.push(`error:${r}`) });
    const header = new Uint8Array(12);
    flow.send(concatBytes([header, bytesOf("first")]));
    flow.send(concatBytes([header, bytesOf("second")]));
    for (let i = 0; i < 100 && got.length < 2; i++) await tick(10);
    expect(got.sort()).toEqual(["first", "second"]);
    flow.close();
  });

  it("fails streams when the relay goes away", async () => {
    const client = newClient();
    const rec = recorder();
    await client.tcp({ ip: "127.0.0.1", port: webPort }, rec.sink);
    for (const socket of upgraded) socket.destroy();
    await rec.done;
    expect(rec.events).toEqual(["error:relay connection lost (code 1006)"]);
    expect(client.status()).toMatchObject({ state: "closed", error: "relay connection lost (code 1006)" });
    // The next stream opens a new WebSocket.
    const { received } = await exchange(client, [bytesOf("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")]);
    expect(splitResponse(received()).body).toEqual(bytesOf("ok"));
  });
});
