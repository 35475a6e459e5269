import { describe, expect, it } from "vitest";
import {
  BodyEncoder,
  concatBytes,
  getHeader,
  HttpError,
  latin1Bytes,
  RequestParser,
  ResponseParser,
  startRequest,
  startResponse,
  type HeaderList,
  type ParseEvent,
  type RequestHead,
  type ResponseHead,
} from "./http1.ts";

const enc = (s: string): Uint8Array => latin1Bytes(s);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);
/** Byte equality without a deep-equality diff over tens of thousands of elements. */
const same = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

interface Message<Head> {
  head: Head;
  body: string;
  trailers: HeaderList;
  complete: boolean;
}

/** Folds parser events into whole messages, plus the error if the stream failed. */
function fold<Head>(events: ParseEvent<Head>[]): { messages: Message<Head>[]; error?: HttpError } {
  const messages: Message<Head>[] = [];
  const bodies: Uint8Array[][] = [];
  let error: HttpError | undefined;
  for (const e of events) {
    if (e.type === "head") {
      messages.push({ head: e.head, body: "", trailers: [], complete: false });
      bodies.push([]);
    } else if (e.type === "body") bodies.at(-1)?.push(e.bytes.slice());
    else if (e.type === "end") {
      const m = messages.at(-1);
      if (m) Object.assign(m, { trailers: e.trailers, complete: true, body: text(concatBytes(bodies.at(-1) ?? [])) });
    } else error = e.error;
  }
  return error ? { messages, error } : { messages };
}

function parseRequests(chunks: Uint8Array[], finish = false): { messages: Message<RequestHead>[]; error?: HttpError } {
  const p = new RequestParser();
  const events = chunks.flatMap((c) => p.push(c));
  if (finish) events.push(...p.finish());
  return fold(events);
}

function parseResponses(chunks: Uint8Array[], methods: string[], finish = true): { messages: Message<ResponseHead>[]; error?: HttpError } {
  const p = new ResponseParser();
  for (const m of methods) p.expectResponse(m);
  const events = chunks.flatMap((c) => p.push(c));
  if (finish) events.push(...p.finish());
  return fold(events);
}

const busyboxGet = "GET /index.html HTTP/1.1\r\nHost: example.com\r\nUser-Agent: Wget\r\nConnection: close\r\n\r\n";
const chunkedPost =
  "POST /upload?x=1 HTTP/1.1\r\nHost: 10.0.2.2:8000\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n" +
  "5;name=value;other=\"quoted\"\r\nhello\r\n" +
  "7 ; ext\r\n, world\r\n" +
  "0\r\nX-Sum: 12\r\nX-More: yes\r\n\r\n";
const lengthPost = "PUT /f HTTP/1.0\r\nContent-Length: 11\r\nHost: h\r\n\r\nhello world";
const stream = busyboxGet.replace("Connection: close\r\n", "") + chunkedPost + lengthPost;

describe("request parser", () => {
  it("reads a busybox wget request", () => {
    const { messages, error } = parseRequests([enc(busyboxGet)]);
    expect(error).toBeUndefined();
    expect(messages).toHaveLength(1);
    const head = messages[0]?.head;
    expect(head).toMatchObject({ method: "GET", target: "/index.html", version: "HTTP/1.1", keepAlive: false, body: "none", expectContinue: false });
    expect(head?.headers).toEqual([
      ["Host", "example.com"],
      ["User-Agent", "Wget"],
      ["Connection", "close"],
    ]);
    expect(messages[0]?.complete).toBe(true);
  });

  it("reads pipelined requests with every framing, split at every byte boundary", () => {
    const bytes = enc(stream);
    const whole = parseRequests([bytes]);
    expect(whole.error).toBeUndefined();
    expect(whole.messages.map((m) => [m.head.method, m.head.body, m.head.keepAlive, m.body])).toEqual([
      ["GET", "none", true, ""],
      ["POST", "chunked", true, "hello, world"],
      ["PUT", "length", false, "hello world"],
    ]);
    expect(whole.messages[1]?.trailers).toEqual([
      ["X-Sum", "12"],
      ["X-More", "yes"],
    ]);
    for (let i = 0; i <= bytes.length; i++) {
      expect(parseRequests([bytes.subarray(0, i), bytes.subarray(i)])).toEqual(whole);
    }
    for (let i = 0; i + 7 <= bytes.length; i += 3) {
      expect(parseRequests([bytes.subarray(0, i), bytes.subarray(i, i + 7), bytes.subarray(i + 7)])).toEqual(whole);
    }
    expect(parseRequests(Array.from(bytes, (b) => new Uint8Array([b])))).toEqual(whole);
  });

  it("stops at each message end when asked, so a server can hold back pipelined requests", () => {
    const p = new RequestParser();
    const bytes = enc(stream);
    const first = p.pushUntilMessageEnd(bytes);
    expect(first.events.map((e) => e.type)).toEqual(["head", "end"]);
    expect(text(bytes.subarray(0, first.consumed))).toBe(busyboxGet.replace("Connection: close\r\n", ""));
    expect(p.idle).toBe(true);
    const second = p.pushUntilMessageEnd(bytes.subarray(first.consumed));
    expect(second.events.filter((e) => e.type === "end")).toHaveLength(1);
    const third = p.pushUntilMessageEnd(bytes.subarray(first.consumed + second.consumed));
    expect(first.consumed + second.consumed + third.consumed).toBe(bytes.length);
  });

  it("accepts LF-only lines, leading empty lines, OWS around values and equal repeated Content-Length", () => {
    const { messages, error } = parseRequests([enc("\r\nPOST / HTTP/1.1\nHost:  h \t\nContent-Length: 3, 3\nContent-Length: 3\n\nabc")]);
    expect(error).toBeUndefined();
    expect(messages[0]?.head.headers[0]).toEqual(["Host", "h"]);
    expect(messages[0]?.body).toBe("abc");
  });

  it("treats HTTP/1.0 as close unless keep-alive, HTTP/1.1 as keep-alive unless close, and sees Expect", () => {
    const heads = parseRequests([
      enc("GET / HTTP/1.0\r\n\r\nGET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\nGET / HTTP/1.1\r\nConnection: TE, close\r\n\r\nPOST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx"),
    ]).messages.map((m) => [m.head.keepAlive, m.head.expectContinue]);
    expect(heads).toEqual([
      [false, false],
      [true, false],
      [false, false],
      [true, true],
    ]);
  });

  it("keeps a body of binary bytes intact", () => {
    const body = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7) & 255);
    const p = new RequestParser();
    const events = p.push(concatBytes([enc("POST / HTTP/1.1\r\nContent-Length: 1000\r\n\r\n"), body]));
    const got = concatBytes(events.flatMap((e) => (e.type === "body" ? [e.bytes] : [])));
    expect(got).toEqual(body);
  });

  const rejected: [string, string, string][] = [
    ["a TLS ClientHello", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", "not-http"],
    ["HTTP/0.9", "GET /\r\n\r\n", "not-http"],
    ["two spaces", "GET  / HTTP/1.1\r\n\r\n", "not-http"],
    ["a bad method", "G(T / HTTP/1.1\r\n\r\n", "not-http"],
    ["a control character in the target", "GET /\x01 HTTP/1.1\r\n\r\n", "not-http"],
    ["HTTP/2.0", "GET / HTTP/2.0\r\n\r\n", "bad-version"],
    ["a bare CR", "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", "bad-header"],
    ["space before the colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", "bad-header"],
    ["a line without colon", "GET / HTTP/1.1\r\nHost\r\n\r\n", "bad-header"],
    ["obs-fold", "GET / HTTP/1.1\r\nX-A: 1\r\n  2\r\n\r\n", "bad-header"],
    ["NUL in a value", "GET / HTTP/1.1\r\nX-A: 1\x002\r\n\r\n", "bad-header"],
    ["two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "bad-header"],
    ["differing Content-Lengths", "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", "bad-content-length"],
    ["a negative Content-Length", "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", "bad-content-length"],
    ["Content-Length with Transfer-Encoding", "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", "bad-transfer-encoding"],
    ["gzip transfer coding", "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "unsupported-transfer-encoding"],
    ["a request TE not ending in chunked", "POST / HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n", "bad-transfer-encoding"],
    ["a bad chunk size", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "bad-chunk"],
    ["a huge chunk size", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n", "bad-chunk"],
    ["chunk data longer than its size", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n", "bad-chunk"],
  ];
  for (const [what, input, code] of rejected) {
    it(`rejects ${what} as ${code}`, () => {
      const { error } = parseRequests([enc(input)]);
      expect(error).toBeInstanceOf(HttpError);
      expect(error?.code).toBe(code);
    });
  }

  it("rejects non-HTTP bytes at once, without waiting for a line end", () => {
    const p = new RequestParser();
    expect(p.push(new Uint8Array([0x16]))).toMatchObject([{ type: "error", error: { code: "not-http", status: 400 } }]);
    // And stays failed.
    expect(p.push(enc("GET / HTTP/1.1\r\n\r\n"))[0]?.type).toBe("error");
  });

  it("rejects an oversize head, also one arriving a byte at a time, and too many headers", () => {
    const huge = enc(`GET / HTTP/1.1\r\nX-Big: ${"a".repeat(70_000)}\r\n\r\n`);
    expect(parseRequests([huge]).error?.code).toBe("head-too-large");
    const p = new RequestParser({ maxHeadBytes: 1024 });
    const events: ParseEvent<RequestHead>[] = [];
    let fed = 0;
    for (const b of enc(`GET / HTTP/1.1\r\nX-Big: ${"a".repeat(5000)}`)) {
      fed++;
      events.push(...p.push(new Uint8Array([b])));
      if (events.length) break;
    }
    expect(events).toMatchObject([{ type: "error", error: { code: "head-too-large", status: 431 } }]);
    expect(fed).toBe(1025);
    const many = `GET / HTTP/1.1\r\n${Array.from({ length: 101 }, (_, i) => `X-${i}: ${i}\r\n`).join("")}\r\n`;
    expect(parseRequests([enc(many)]).error?.code).toBe("too-many-headers");
    const trailers = `POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n${Array.from({ length: 101 }, (_, i) => `X-${i}: ${i}\r\n`).join("")}\r\n`;
    expect(parseRequests([enc(trailers)]).error?.code).toBe("too-many-headers");
  });

  it("reports a request cut short at the end of the stream, and nothing for a clean end", () => {
    expect(parseRequests([enc("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab")], true).error?.code).toBe("truncated");
    expect(parseRequests([enc("GET / HTTP/1.1\r\n\r\n")], true).error).toBeUndefined();
  });

  it("never throws on random or mutated input", () => {
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const base = enc(stream);
    for (let round = 0; round < 3000; round++) {
      const bytes = round % 3 === 0 ? Uint8Array.from({ length: rand(300) }, () => rand(256)) : base.slice();
      if (round % 3 !== 0) for (let k = 0; k < 1 + rand(4); k++) bytes[rand(bytes.length)] = rand(256);
      const p = new RequestParser({ maxHeadBytes: 512, maxHeaders: 8 });
      const cut = rand(bytes.length + 1);
      const events = [...p.push(bytes.subarray(0, cut)), ...p.push(bytes.subarray(cut)), ...p.finish()];
      for (const e of events) if (e.type === "error") expect(e.error).toBeInstanceOf(HttpError);
    }
  });
});

describe("response parser", () => {
  it("reads Content-Length, chunked and close-delimited bodies", () => {
    const wire = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello" + "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nnot\r\n6\r\n found\r\n0\r\n\r\n" + "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nthe rest of the stream";
    const bytes = enc(wire);
    const whole = parseResponses([bytes], ["GET", "GET", "GET"]);
    expect(whole.error).toBeUndefined();
    expect(whole.messages.map((m) => [m.head.status, m.head.reason, m.head.body, m.head.keepAlive, m.body, m.complete])).toEqual([
      [200, "OK", "length", true, "hello", true],
      [404, "Not Found", "chunked", true, "not found", true],
      [200, "OK", "close", false, "the rest of the stream", true],
    ]);
    for (let i = 0; i <= bytes.length; i++) expect(parseResponses([bytes.subarray(0, i), bytes.subarray(i)], ["GET", "GET", "GET"])).toEqual(whole);
  });

  it("ends a close-delimited body only at the end of the stream", () => {
    const p = new ResponseParser();
    p.expectResponse("GET");
    expect(p.push(enc("HTTP/1.1 200 OK\r\n\r\nabc")).map((e) => e.type)).toEqual(["head", "body"]);
    expect(p.finish()).toEqual([{ type: "end", trailers: [] }]);
  });

  it("knows HEAD, 204 and 304 responses have no body whatever their headers say", () => {
    const wire = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + "HTTP/1.1 204 No Content\r\n\r\n" + "HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n" + "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    const { messages, error } = parseResponses([enc(wire)], ["HEAD", "GET", "GET", "GET"], false);
    expect(error).toBeUndefined();
    expect(messages.map((m) => [m.head.status, m.head.body, m.head.contentLength, m.body])).toEqual([
      [200, "none", 1000, ""],
      [204, "none", undefined, ""],
      [304, "none", undefined, ""],
      [200, "length", 2, "ok"],
    ]);
  });

  it("passes over 1xx interim responses to the final one", () => {
    const p = new ResponseParser();
    p.expectResponse("POST");
    p.expectResponse("HEAD");
    const { messages } = fold(p.push(enc("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n")));
    expect(messages.map((m) => [m.head.status, m.body])).toEqual([
      [100, ""],
      [201, "ok"],
      [200, ""],
    ]);
  });

  it("rejects malformed responses and truncated bodies", () => {
    expect(parseResponses([enc("SSH-2.0-OpenSSH\r\n")], ["GET"]).error?.code).toBe("not-http");
    expect(new ResponseParser().push(enc("SSH"))[0]).toMatchObject({ type: "error", error: { code: "not-http" } });
    expect(parseResponses([enc("HTTP/1.1 2000 OK\r\n\r\n")], ["GET"]).error?.code).toBe("not-http");
    expect(parseResponses([enc("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")], ["GET"]).error?.code).toBe("truncated");
    expect(parseResponses([enc("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")], ["GET"]).error?.code).toBe("truncated");
    expect(parseResponses([enc("HTTP/1.1 200 OK\r\nTransfer-Encoding: br\r\n\r\n")], ["GET"]).error?.code).toBe("unsupported-transfer-encoding");
  });
});

describe("serializers", () => {
  const body = Uint8Array.from({ length: 70_000 }, (_, i) => (i * 31) & 255);
  const pieces = [body.subarray(0, 1), body.subarray(1, 1), body.subarray(1, 40_000), body.subarray(40_000)];

  function roundTripResponse(request: Pick<RequestHead, "method" | "version" | "keepAlive">, contentLength?: number): { head: ResponseHead; body: Uint8Array; keepAlive: boolean } {
    const start = startResponse(request, { status: 200, headers: [["Content-Type", "application/octet-stream"], ["Content-Length", "999"], ["Connection", "keep-alive"]], ...(contentLength === undefined ? {} : { contentLength }) });
    const wire = concatBytes([start.head, ...pieces.map((p) => (start.body.framing === "none" ? new Uint8Array(0) : start.body.chunk(p))), start.body.end()]);
    const p = new ResponseParser();
    p.expectResponse(request.method);
    const events = [...p.push(wire), ...p.finish()];
    const head = events.find((e) => e.type === "head");
    if (head?.type !== "head") throw new Error("no head");
    expect(events.at(-1)?.type).toBe("end");
    return { head: head.head, body: concatBytes(events.flatMap((e) => (e.type === "body" ? [e.bytes] : []))), keepAlive: start.keepAlive };
  }

  it("frames a response by Content-Length, chunked or close as the request allows, and the parser reads it back", () => {
    const known = roundTripResponse({ method: "GET", version: "HTTP/1.1", keepAlive: true }, body.length);
    expect([known.head.body, known.head.contentLength, known.keepAlive, getHeader(known.head.headers, "connection")]).toEqual(["length", body.length, true, undefined]);
    expect(same(known.body, body)).toBe(true);
    const chunked = roundTripResponse({ method: "GET", version: "HTTP/1.1", keepAlive: true });
    expect([chunked.head.body, chunked.keepAlive]).toEqual(["chunked", true]);
    expect(same(chunked.body, body)).toBe(true);
    const old = roundTripResponse({ method: "GET", version: "HTTP/1.0", keepAlive: true });
    expect([old.head.body, old.keepAlive, getHeader(old.head.headers, "connection")]).toEqual(["close", false, "close"]);
    expect(same(old.body, body)).toBe(true);
    const oldKnown = roundTripResponse({ method: "GET", version: "HTTP/1.0", keepAlive: true }, body.length);
    expect([oldKnown.head.body, oldKnown.keepAlive, getHeader(oldKnown.head.headers, "connection")]).toEqual(["length", true, "keep-alive"]);
    const head = roundTripResponse({ method: "HEAD", version: "HTTP/1.1", keepAlive: false }, body.length);
    expect([head.head.body, head.head.contentLength, head.body.length, getHeader(head.head.headers, "connection")]).toEqual(["none", body.length, 0, "close"]);
  });

  it("writes chunked trailers and refuses header injection and wrong lengths", () => {
    const encoder = new BodyEncoder("chunked");
    expect(text(concatBytes([encoder.chunk(enc("abc")), encoder.end([["X-Sum", "1"]])]))).toBe("3\r\nabc\r\n0\r\nX-Sum: 1\r\n\r\n");
    expect(() => startResponse({ method: "GET", version: "HTTP/1.1", keepAlive: true }, { status: 200, headers: [["X-A", "1\r\nSet-Cookie: x"]] })).toThrow(HttpError);
    expect(() => startResponse({ method: "GET", version: "HTTP/1.1", keepAlive: true }, { status: 200, headers: [["Bad Name", "1"]] })).toThrow(HttpError);
    const short = new BodyEncoder("length", 5);
    short.chunk(enc("abc"));
    expect(() => short.end()).toThrow(/Content-Length 5/);
    expect(() => new BodyEncoder("length", 2).chunk(enc("abc"))).toThrow(/longer/);
  });

  it("writes requests the request parser reads back", () => {
    const get = startRequest({ method: "GET", target: "/a?b=c", host: "10.0.2.15:80", headers: [["Accept", "*/*"]] });
    const post = startRequest({ method: "POST", target: "/form", headers: [["Host", "h"], ["Content-Type", "text/plain"]], body: 5 });
    const stream = startRequest({ method: "PUT", target: "/f", host: "h", body: "chunked", close: true });
    const wire = concatBytes([get.head, post.head, post.body.chunk(enc("hello")), post.body.end(), stream.head, stream.body.chunk(enc("abc")), stream.body.chunk(enc("def")), stream.body.end()]);
    const { messages, error } = parseRequests([wire], true);
    expect(error).toBeUndefined();
    expect(messages.map((m) => [m.head.method, m.head.target, getHeader(m.head.headers, "host"), m.head.body, m.head.keepAlive, m.body])).toEqual([
      ["GET", "/a?b=c", "10.0.2.15:80", "none", true, ""],
      ["POST", "/form", "h", "length", true, "hello"],
      ["PUT", "/f", "h", "chunked", false, "abcdef"],
    ]);
    expect(() => startRequest({ method: "GET", target: "/" })).toThrow(/Host/);
    expect(() => startRequest({ method: "GET", target: "/ x", host: "h" })).toThrow(/request-target/);
  });
});
