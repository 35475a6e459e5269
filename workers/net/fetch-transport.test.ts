import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetchConnector, isAllowed, type FetchConnectorOptions, type FetchFunction } from "./fetch-transport.ts";
import { concatBytes, getHeader, latin1Bytes, ResponseParser, type ResponseHead } from "./http1.ts";
import type { OutsideStream, StreamSink, TcpTarget } from "./transport.ts";

/**
 * Node's http module, loaded by a name TypeScript does not resolve: a static `node:` import would pull
 * @types/node's globals into the whole workers/ type-check, where pure cores must not see them.
 */
const node = <T>(name: string): Promise<T> => import(/* @vite-ignore */ name) as Promise<T>;
interface IncomingMessage extends AsyncIterable<Uint8Array> {
  method?: string;
  url?: string;
  headers: Record<string, string | string[] | undefined>;
}
interface ServerResponse {
  writeHead(status: number, headers?: Record<string, string | number>): void;
  write(chunk: Uint8Array | string): boolean;
  end(chunk?: Uint8Array | string): void;
  once(event: "drain" | "close", listener: () => void): void;
  destroyed: boolean;
}
interface Server {
  listen(port: number, host: string, listener: () => void): void;
  address(): { port: number };
  close(listener?: () => void): void;
  closeAllConnections(): void;
}
const http = await node<{ createServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Server }>("node:http");

const MiB = 1 << 20;
const realFetch: FetchFunction = (url, init) => fetch(url, init);

const hex = (digest: ArrayBuffer): string => Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
const sha256 = async (bytes: Uint8Array<ArrayBuffer>): Promise<string> => hex(await crypto.subtle.digest("SHA-256", bytes));
const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

async function gzipBytes(bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server.address().port;
}

const big = Uint8Array.from({ length: 10 * MiB }, (_, i) => (i * 2654435761) >>> 24);
const page = new TextEncoder().encode("<html>" + "compressible text ".repeat(5000) + "</html>");
let bigSha = "";
let pageGz = new Uint8Array(0);
let server: Server;
let port = 0;
/** Requests the server saw, as "METHOD /path". */
const seen: string[] = [];
/** Bytes the /stream route handed to its socket so far. */
let streamWritten = 0;

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://x");
  seen.push(`${req.method} ${url.pathname}`);
  const parts: Uint8Array[] = [];
  for await (const part of req) parts.push(part);
  const body = concatBytes(parts);
  switch (url.pathname) {
    case "/big":
      res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": big.length });
      res.end(big);
      return;
    case "/small":
      res.writeHead(200, { "Content-Type": "text/plain", "Content-Length": 5 });
      res.end("hello");
      return;
    case "/echo":
      res.writeHead(201, { "Content-Type": "application/json", "X-Seen-Method": req.method ?? "" });
      res.end(JSON.stringify({ length: body.length, sha: await sha256(new Uint8Array(body)), headers: req.headers }));
      return;
    case "/gzip":
      res.writeHead(200, { "Content-Type": "text/html", "Content-Encoding": "gzip", "Content-Length": pageGz.length });
      res.end(pageGz);
      return;
    case "/redirect":
      res.writeHead(302, { Location: "/small", "Content-Length": 0 });
      res.end();
      return;
    case "/stream": {
      // 32 MiB in 64 KiB blocks, written only as fast as the socket takes them.
      const block = new Uint8Array(64 * 1024).fill(0x61);
      res.writeHead(200, { "Content-Type": "application/octet-stream" });
      streamWritten = 0;
      while (streamWritten < 32 * MiB && !res.destroyed) {
        streamWritten += block.length;
        if (!res.write(block)) await new Promise<void>((resolve) => res.once("drain", resolve));
      }
      res.end();
      return;
    }
    default:
      res.writeHead(404, { "Content-Length": 9 });
      res.end("not found");
  }
}

beforeAll(async () => {
  bigSha = await sha256(big);
  pageGz = await gzipBytes(page);
  server = http.createServer((req, res) => void handle(req, res));
  port = await listen(server);
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** The guest's end of a connection: collects what the transport sends toward it. */
class Guest implements StreamSink {
  readonly chunks: Uint8Array[] = [];
  bytes = 0;
  ended = false;
  reset: string | undefined;
  drains = 0;
  onData: ((bytes: Uint8Array) => void) | undefined;
  private readonly listeners = new Set<() => void>();

  data(bytes: Uint8Array): void {
    expect(this.ended || this.reset !== undefined).toBe(false);
    this.chunks.push(bytes.slice());
    this.bytes += bytes.length;
    this.onData?.(bytes);
    this.notify();
  }
  end(): void {
    this.ended = true;
    this.notify();
  }
  error(reason: string): void {
    this.reset = reason;
    this.notify();
  }
  drain(): void {
    this.drains++;
    this.notify();
  }
  private notify(): void {
    for (const l of this.listeners) l();
  }
  /** Resolves when `condition` holds after some event. */
  until(condition: () => boolean, what: string, ms = 10_000): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.listeners.delete(check);
        reject(new Error(`timed out waiting for ${what}`));
      }, ms);
      const check = (): void => {
        if (!condition()) return;
        clearTimeout(timer);
        this.listeners.delete(check);
        resolve();
      };
      this.listeners.add(check);
    });
  }
  /** The responses received so far, parsed as a client would (one method per request sent). */
  responses(methods: string[]): { head: ResponseHead; body: Uint8Array<ArrayBuffer>; complete: boolean }[] {
    const parser = new ResponseParser();
    for (const m of methods) parser.expectResponse(m);
    const events = [...parser.push(concatBytes(this.chunks)), ...(this.ended ? parser.finish() : [])];
    const out: { head: ResponseHead; parts: Uint8Array[]; complete: boolean }[] = [];
    for (const e of events) {
      if (e.type === "error") throw e.error;
      if (e.type === "head") out.push({ head: e.head, parts: [], complete: false });
      const last = out.at(-1);
      if (e.type === "body") last?.parts.push(e.bytes);
      if (e.type === "end" && last) last.complete = true;
    }
    return out.map(({ head, parts, complete }) => ({ head, body: new Uint8Array(concatBytes(parts)), complete }));
  }
  /** Waits for a complete final response to each of `methods` (interim 1xx ones are listed too). */
  async complete(methods: string[], what: string): Promise<ReturnType<Guest["responses"]>> {
    await this.until(() => this.responses(methods).filter((r) => r.complete && r.head.status >= 200).length >= methods.length || this.reset !== undefined, what);
    if (this.reset !== undefined) throw new Error(`reset: ${this.reset}`);
    return this.responses(methods);
  }
}

const localTarget = (): TcpTarget => ({ ip: "127.0.0.1", port });
const allowLocal = (): FetchConnectorOptions => ({ fetch: realFetch, allow: [{ host: "127.0.0.1", ports: [port] }] });

async function open(options: FetchConnectorOptions = allowLocal(), target: TcpTarget = localTarget()): Promise<{ guest: Guest; stream: OutsideStream }> {
  const guest = new Guest();
  const stream = await fetchConnector(options)(target, guest);
  return { guest, stream };
}

const request = (method: string, path: string, headers: string[] = [], host = `127.0.0.1:${port}`): Uint8Array =>
  latin1Bytes(`${method} ${path} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: Wget\r\n${headers.map((h) => h + "\r\n").join("")}\r\n`);

describe("fetch transport", () => {
  it("streams a 10 MB body intact", async () => {
    const { guest, stream } = await open();
    stream.write(request("GET", "/big", ["Connection: close"]));
    await guest.until(() => guest.ended, "the end of the stream");
    const [response] = guest.responses(["GET"]);
    expect(response?.head).toMatchObject({ status: 200, body: "length", contentLength: big.length });
    expect(response?.complete).toBe(true);
    expect(await sha256(response?.body ?? new Uint8Array(0))).toBe(bigSha);
  });

  it("sends a POST body, answers Expect: 100-continue, and forwards end-to-end headers only", async () => {
    const { guest, stream } = await open();
    const body = Uint8Array.from({ length: 300_000 }, (_, i) => i & 255);
    stream.write(request("POST", "/echo", ["Content-Type: application/octet-stream", `Content-Length: ${body.length}`, "Expect: 100-continue", "Connection: keep-alive, X-Hop", "X-Hop: 1", "X-Custom: yes", "Accept-Encoding: identity"]));
    await guest.until(() => text(concatBytes(guest.chunks)).startsWith("HTTP/1.1 100 Continue\r\n\r\n"), "100 Continue");
    stream.write(body.subarray(0, 1000));
    stream.write(body.subarray(1000));
    const [interim, response] = await guest.complete(["POST"], "the echo");
    expect(interim?.head.status).toBe(100);
    expect(response?.head).toMatchObject({ status: 201, reason: "Created", keepAlive: true });
    expect(getHeader(response?.head.headers ?? [], "x-seen-method")).toBe("POST");
    const echo = JSON.parse(text(response?.body ?? new Uint8Array(0))) as { length: number; sha: string; headers: Record<string, string> };
    expect(echo.length).toBe(body.length);
    expect(echo.sha).toBe(await sha256(body));
    expect(echo.headers["x-custom"]).toBe("yes");
    expect(echo.headers["x-hop"]).toBeUndefined();
    expect(echo.headers["expect"]).toBeUndefined();
    expect(echo.headers["user-agent"]).toBe("Wget");
    expect(echo.headers["host"]).toBe(`127.0.0.1:${port}`);
    stream.abort();
  });

  it("answers two requests on one keep-alive stream, and pipelined ones in order", async () => {
    const { guest, stream } = await open();
    stream.write(request("GET", "/small"));
    await guest.complete(["GET"], "the first response");
    expect(guest.ended).toBe(false);
    stream.write(request("GET", "/echo"));
    const [first, second] = await guest.complete(["GET", "GET"], "the second response");
    expect(text(first?.body ?? new Uint8Array(0))).toBe("hello");
    expect(second?.head).toMatchObject({ status: 201, body: "chunked", keepAlive: true });
    expect(guest.ended).toBe(false);

    // Two more in one segment: the second waits, counted in `buffered`, until the first is answered.
    stream.write(concatBytes([request("HEAD", "/big"), request("GET", "/small", ["Connection: close"])]));
    expect(stream.buffered).toBeGreaterThan(0);
    await guest.until(() => guest.ended, "the end after Connection: close");
    const all = guest.responses(["GET", "GET", "HEAD", "GET"]);
    expect(all.map((r) => [r.head.status, r.head.contentLength, r.body.length])).toEqual([
      [200, 5, 5],
      [201, undefined, expect.any(Number)],
      [200, big.length, 0],
      [200, 5, 5],
    ]);
    expect(stream.buffered).toBe(0);
    expect(guest.drains).toBeGreaterThan(0);
  });

  it("ends the stream after a Connection: close request and after an HTTP/1.0 one", async () => {
    const closing = await open();
    closing.stream.write(request("GET", "/small", ["Connection: close"]));
    await closing.guest.until(() => closing.guest.ended, "the end of the stream");
    expect(getHeader(closing.guest.responses(["GET"])[0]?.head.headers ?? [], "connection")).toBe("close");

    const old = await open();
    old.stream.write(latin1Bytes(`GET /echo HTTP/1.0\r\nHost: 127.0.0.1:${port}\r\n\r\n`));
    await old.guest.until(() => old.guest.ended, "the end of the HTTP/1.0 stream");
    const [response] = old.guest.responses(["GET"]);
    expect(response?.head).toMatchObject({ status: 201, body: "close" });
    expect(response?.complete).toBe(true);
    expect(JSON.parse(text(response?.body ?? new Uint8Array(0)))).toMatchObject({ length: 0 });
  });

  it("ends the stream once the guest half-closes after its request", async () => {
    const { guest, stream } = await open();
    stream.write(request("GET", "/small"));
    stream.end();
    await guest.until(() => guest.ended, "the end of the stream");
    expect(text(guest.responses(["GET"])[0]?.body ?? new Uint8Array(0))).toBe("hello");
  });

  it("answers a host off the allow-list with a 403 and fetches nothing, then serves allowed requests", async () => {
    const before = seen.length;
    const { guest, stream } = await open();
    stream.write(request("GET", "/small", [], "example.com"));
    stream.write(request("GET", "/small", [], `127.0.0.1:${port + 1 === 65536 ? 1 : port + 1}`));
    stream.write(request("GET", "/small"));
    const responses = await guest.complete(["GET", "GET", "GET"], "three responses");
    expect(responses.map((r) => r.head.status)).toEqual([403, 403, 200]);
    expect(text(responses[0]?.body ?? new Uint8Array(0))).toContain(`example.com:${port} is not on the fetch transport's allow-list`);
    expect(seen.slice(before)).toEqual(["GET /small"]);
  });

  it("matches allow rules by name, subdomain wildcard, pattern and port", () => {
    const rules = [{ host: "example.com", ports: [80] }, { host: "*.example.org" }, { host: /^10\.0\.2\.\d+$/ }];
    expect(isAllowed(rules, "Example.COM.", 80)).toBe(true);
    expect(isAllowed(rules, "example.com", 8080)).toBe(false);
    expect(isAllowed(rules, "www.example.org", 1234)).toBe(true);
    expect(isAllowed(rules, "example.org", 80)).toBe(false);
    expect(isAllowed(rules, "badexample.org", 80)).toBe(false);
    expect(isAllowed(rules, "10.0.2.2", 8000)).toBe(true);
    expect(isAllowed((host, p) => host === "a" && p === 1, "A", 1)).toBe(true);
  });

  it("maps a target through rewrite, checking the allow-list against what the guest asked for", async () => {
    const target: TcpTarget = { ip: "10.0.2.2", port: 8000 };
    const rewrite = (t: TcpTarget): string | undefined => (t.ip === "10.0.2.2" ? `http://127.0.0.1:${port}/` : undefined);
    const { guest, stream } = await open({ fetch: realFetch, allow: [{ host: "10.0.2.2", ports: [8000] }], rewrite }, target);
    stream.write(request("GET", "/small", [], "10.0.2.2:8000"));
    // No Host header: the target's name (or address) and port stand in.
    stream.write(latin1Bytes("GET /small HTTP/1.0\r\n\r\n"));
    const responses = await guest.complete(["GET", "GET"], "two responses");
    expect(responses.map((r) => [r.head.status, text(r.body)])).toEqual([
      [200, "hello"],
      [200, "hello"],
    ]);
  });

  it("answers a 502 naming the cause when the server is unreachable", async () => {
    const closed = http.createServer(() => undefined);
    const closedPort = await listen(closed);
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const { guest, stream } = await open({ fetch: realFetch, allow: [{ host: "127.0.0.1" }] }, { ip: "127.0.0.1", port: closedPort });
    stream.write(request("GET", "/", [], `127.0.0.1:${closedPort}`));
    const [response] = await guest.complete(["GET"], "the 502");
    expect(response?.head.status).toBe(502);
    expect(text(response?.body ?? new Uint8Array(0))).toMatch(/fetch http:\/\/127\.0\.0\.1:\d+\/ failed: fetch failed: connect ECONNREFUSED/);
  });

  it("delivers a gzip-encoded response decoded, without its Content-Encoding and Content-Length", async () => {
    const { guest, stream } = await open();
    stream.write(request("GET", "/gzip"));
    const [response] = await guest.complete(["GET"], "the page");
    expect(pageGz.length).toBeLessThan(page.length / 10);
    expect(response?.head).toMatchObject({ status: 200, body: "chunked" });
    expect(getHeader(response?.head.headers ?? [], "content-encoding")).toBeUndefined();
    expect(getHeader(response?.head.headers ?? [], "content-length")).toBeUndefined();
    expect(text(response?.body ?? new Uint8Array(0))).toBe(text(page));
    // An HTTP/1.0 client gets the decoded body delimited by the end of the stream.
    const old = await open();
    old.stream.write(latin1Bytes(`GET /gzip HTTP/1.0\r\nHost: 127.0.0.1:${port}\r\n\r\n`));
    await old.guest.until(() => old.guest.ended, "the end of the stream");
    expect(text(old.guest.responses(["GET"])[0]?.body ?? new Uint8Array(0))).toBe(text(page));
  });

  it("passes a redirect to the guest as it is", async () => {
    const { guest, stream } = await open();
    stream.write(request("GET", "/redirect"));
    const [response] = await guest.complete(["GET"], "the redirect");
    expect(response?.head.status).toBe(302);
    expect(getHeader(response?.head.headers ?? [], "location")).toBe("/small");
  });

  it("follows a redirect a browser hides (opaqueredirect) for GET, and explains it for POST", async () => {
    // Node's fetch shows manual redirects; this wrapper gives the browser's answer: type "opaqueredirect", status 0.
    const browserLike: FetchFunction = async (url, init) => {
      const response = await fetch(url, init);
      if (init.redirect !== "manual" || response.status < 300 || response.status > 399) return response;
      const opaque = Response.error();
      Object.defineProperty(opaque, "type", { value: "opaqueredirect" });
      return opaque;
    };
    const { guest, stream } = await open({ ...allowLocal(), fetch: browserLike });
    stream.write(request("GET", "/redirect"));
    stream.write(request("POST", "/redirect", ["Content-Length: 1"]));
    stream.write(latin1Bytes("x"));
    const [followed, post] = await guest.complete(["GET", "POST"], "two responses");
    expect([followed?.head.status, text(followed?.body ?? new Uint8Array(0))]).toEqual([200, "hello"]);
    expect(post?.head.status).toBe(502);
    expect(text(post?.body ?? new Uint8Array(0))).toContain("redirect the browser does not reveal");
  });

  it("resets a stream that does not speak HTTP, such as a TLS ClientHello", async () => {
    const { guest, stream } = await open({ fetch: realFetch, allow: [{ host: "*" }] }, { ip: "127.0.0.1", port: 443 });
    stream.write(new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]));
    expect(guest.reset).toMatch(/not HTTP/);
    expect(guest.bytes).toBe(0);
  });

  it("answers a malformed request with a 400 and closes", async () => {
    const { guest, stream } = await open();
    stream.write(latin1Bytes("GET / HTTP/1.1\r\nHost : x\r\n\r\n"));
    await guest.until(() => guest.ended, "the end of the stream");
    expect(guest.responses(["GET"])[0]?.head.status).toBe(400);
  });

  it("reads no further while the guest is paused, and finishes after resume", async () => {
    // Counts the body reads the transport makes: with a high-water mark of 0, pull runs only on a read.
    let reads = 0;
    const counting: FetchFunction = async (url, init) => {
      const response = await fetch(url, init);
      const reader = response.body?.getReader();
      if (!reader) return response;
      const body = new ReadableStream<Uint8Array>(
        {
          async pull(controller): Promise<void> {
            const { done, value } = await reader.read();
            if (done) controller.close();
            else {
              reads++;
              controller.enqueue(value);
            }
          },
        },
        { highWaterMark: 0 },
      );
      return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
    };
    const { guest, stream } = await open({ ...allowLocal(), fetch: counting });
    let pausedAt = -1;
    guest.onData = (): void => {
      if (pausedAt >= 0 || guest.bytes < MiB) return;
      pausedAt = guest.bytes;
      stream.pause();
    };
    stream.write(request("GET", "/stream", ["Connection: close"]));
    await guest.until(() => pausedAt >= 0, "the first MiB");
    const readsAtPause = reads;
    await new Promise((resolve) => setTimeout(resolve, 800));
    // At most the read already under way when the guest paused; its chunk waits in the transport.
    expect(reads - readsAtPause).toBeLessThanOrEqual(1);
    // Nothing reaches a paused guest; the server is held back by the fetch body stream and socket buffers.
    expect(guest.bytes).toBe(pausedAt);
    const heldAt = streamWritten;
    expect(heldAt).toBeLessThan(16 * MiB);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(streamWritten).toBe(heldAt);
    stream.resume();
    await guest.until(() => guest.ended, "the end of the stream", 20_000);
    const [response] = guest.responses(["GET"]);
    expect(response?.complete).toBe(true);
    expect(response?.body.length).toBe(32 * MiB);
  });

  it("refuses an oversize request body with a 413", async () => {
    const { guest, stream } = await open({ ...allowLocal(), maxRequestBody: 1000 });
    stream.write(request("POST", "/echo", ["Content-Length: 1001"]));
    await guest.until(() => guest.ended, "the end of the stream");
    expect(guest.responses(["POST"])[0]?.head.status).toBe(413);
  });
});
