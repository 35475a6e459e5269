// HTTP/1.1 messages (RFC 9110/9112), incremental in both directions: the fetch transport reads a guest's
// requests and writes responses; the preview writes requests to a server in the guest and reads its responses.
// Parsers take arbitrary byte chunks, hold at most one head in memory and report malformed input as an
// "error" event carrying an HttpError; they never throw on input.

export type HttpVersion = "HTTP/1.0" | "HTTP/1.1";

/** Header fields in the order received, names as sent (compare them case-insensitively). */
export type HeaderList = [name: string, value: string][];

/** How a message's body is delimited (RFC 9112 section 6.3). */
export type BodyFraming = "none" | "length" | "chunked" | "close";

export type HttpErrorCode =
  | "not-http" // the start line is not HTTP at all (e.g. a TLS ClientHello)
  | "bad-version"
  | "head-too-large"
  | "too-many-headers"
  | "bad-header"
  | "bad-content-length"
  | "bad-transfer-encoding"
  | "unsupported-transfer-encoding"
  | "bad-chunk"
  | "truncated";

const ERROR_STATUS: Record<HttpErrorCode, number> = {
  "not-http": 400,
  "bad-version": 505,
  "head-too-large": 431,
  "too-many-headers": 431,
  "bad-header": 400,
  "bad-content-length": 400,
  "bad-transfer-encoding": 400,
  "unsupported-transfer-encoding": 501,
  "bad-chunk": 400,
  truncated: 400,
};

/** Malformed or unacceptable HTTP; `status` is what a server answers a request with it. */
export class HttpError extends Error {
  constructor(
    readonly code: HttpErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "HttpError";
  }
  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

export interface ParserLimits {
  /** Bytes of start line plus header section (and of a chunked body's trailer section). */
  maxHeadBytes: number;
  /** Header fields per head (and per trailer section). */
  maxHeaders: number;
}

export const DEFAULT_LIMITS: ParserLimits = { maxHeadBytes: 64 * 1024, maxHeaders: 100 };

/** A chunk-size line with extensions; real clients send a few hex digits. */
const MAX_CHUNK_LINE = 4096;
/** Empty lines tolerated before a start line (RFC 9112 section 2.2: after a body, some clients send an extra CRLF). */
const MAX_LEADING_EMPTY_LINES = 8;
/** Longer than any registered method; a longer first word is not HTTP. */
const MAX_METHOD = 32;

interface MessageHead {
  version: HttpVersion;
  headers: HeaderList;
  /** Whether the connection stays open after this message, from version and Connection. */
  keepAlive: boolean;
  /** How the body is delimited. */
  body: BodyFraming;
  /** The body's length when `body` is "length". */
  contentLength?: number;
}

export interface RequestHead extends MessageHead {
  method: string;
  /** The request-target as sent: "/path?q", "http://host/path", "host:443" or "*". */
  target: string;
  /** The client sent `Expect: 100-continue` and waits (a while) for a 100 before the body. */
  expectContinue: boolean;
}

export interface ResponseHead extends MessageHead {
  status: number;
  reason: string;
}

export type ParseEvent<Head> =
  | { type: "head"; head: Head }
  /** Body bytes; a view into the chunk given to push, valid until the caller reuses that buffer. */
  | { type: "body"; bytes: Uint8Array }
  /** The message is complete; trailers only after a chunked body that had some. */
  | { type: "end"; trailers: HeaderList }
  /** The stream is unusable from here on; the parser ignores further input. */
  | { type: "error"; error: HttpError };

export type RequestEvent = ParseEvent<RequestHead>;
export type ResponseEvent = ParseEvent<ResponseHead>;

// ---------------------------------------------------------------------------------------------------------
// Byte and token helpers

const CR = 13;
const LF = 10;
const SP = 32;
const HTAB = 9;

/** RFC 9110 tchar: the characters of methods, header names and other tokens. */
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;

const isToken = (s: string): boolean => {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (!TCHAR[s.charCodeAt(i)]) return false;
  return true;
};

/** Bytes as ISO-8859-1 text: header octets map 1:1 to characters (TextDecoder's "latin1" is windows-1252). */
function latin1(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 8192) s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return s;
}

/** Text as ISO-8859-1 bytes; a character above U+00FF cannot appear on the wire. */
export function latin1Bytes(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0xff) throw new HttpError("bad-header", `character U+${c.toString(16).padStart(4, "0")} cannot be sent in an HTTP head`);
    bytes[i] = c;
  }
  return bytes;
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The value of a header field, repeated fields joined by ", " (RFC 9110 section 5.3); undefined if absent. */
export function getHeader(headers: HeaderList, name: string): string | undefined {
  const lower = name.toLowerCase();
  const values = headers.filter(([n]) => n.toLowerCase() === lower).map(([, v]) => v);
  return values.length ? values.join(", ") : undefined;
}

/** A comma-separated list header as lower-case elements, empty ones dropped. */
export function headerTokens(headers: HeaderList, name: string): string[] {
  return (getHeader(headers, name) ?? "")
    .split(",")
    .map((t) => t.trim().toLowerCase())
    .filter((t) => t.length > 0);
}

/** Grows by doubling, so a head arriving a byte at a time costs linear time. */
class ByteBuffer {
  private bytes = new Uint8Array(256);
  length = 0;
  append(chunk: Uint8Array): void {
    if (this.length + chunk.length > this.bytes.length) {
      let size = this.bytes.length * 2;
      while (size < this.length + chunk.length) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.bytes.subarray(0, this.length));
      this.bytes = grown;
    }
    this.bytes.set(chunk, this.length);
    this.length += chunk.length;
  }
  view(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }
  clear(): void {
    this.length = 0;
    if (this.bytes.length > 4096) this.bytes = new Uint8Array(256);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Parsing

type State =
  | "start" // reading the start line
  | "headers"
  | "body-length"
  | "chunk-size"
  | "chunk-data"
  | "chunk-data-end" // the CRLF after a chunk's data
  | "trailers"
  | "body-close" // everything until the end of the stream
  | "dead";

/** A header line: "name: value" with optional whitespace around the value. */
function parseFieldLine(line: string, into: HeaderList): void {
  const colon = line.indexOf(":");
  const name = colon < 0 ? "" : line.slice(0, colon);
  // No whitespace between name and colon (RFC 9112 section 5.1): a classic request-smuggling vector.
  if (!isToken(name)) throw new HttpError("bad-header", `malformed header line: ${JSON.stringify(line.slice(0, 80))}`);
  const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, "");
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if ((c < 0x20 && c !== HTAB) || c === 0x7f) throw new HttpError("bad-header", `control character in header ${name}`);
  }
  into.push([name, value]);
}

/** Content-Length as one non-negative integer; a list of equal values is accepted (RFC 9110 section 8.6). */
function contentLengthOf(headers: HeaderList): number | undefined {
  const raw = getHeader(headers, "content-length");
  if (raw === undefined) return undefined;
  const values = new Set(raw.split(",").map((v) => v.trim()));
  const [only] = values;
  if (values.size !== 1 || only === undefined || !/^\d{1,15}$/.test(only)) throw new HttpError("bad-content-length", `invalid Content-Length: ${JSON.stringify(raw.slice(0, 40))}`);
  return Number(only);
}

function keepAliveOf(version: HttpVersion, headers: HeaderList): boolean {
  const connection = headerTokens(headers, "connection");
  if (connection.includes("close")) return false;
  return version === "HTTP/1.1" || connection.includes("keep-alive");
}

function versionOf(text: string): HttpVersion {
  const m = /^HTTP\/(\d)\.(\d)$/.exec(text);
  if (!m) throw new HttpError("not-http", `not an HTTP version: ${JSON.stringify(text.slice(0, 20))}`);
  if (m[1] !== "1") throw new HttpError("bad-version", `unsupported HTTP version ${text}`);
  // A higher 1.x minor is answered as 1.1, the highest we speak (RFC 9110 section 2.5).
  return m[2] === "0" ? "HTTP/1.0" : "HTTP/1.1";
}

/**
 * The body framing of a message from its headers, or `undefined` when the kind of message decides
 * (a request without either header has none; a response without either is close-delimited).
 */
function framingOf(headers: HeaderList, isRequest: boolean): { body: BodyFraming; contentLength?: number } | undefined {
  const codings = headerTokens(headers, "transfer-encoding");
  const hasTe = headers.some(([n]) => n.toLowerCase() === "transfer-encoding");
  if (hasTe) {
    if (isRequest && headers.some(([n]) => n.toLowerCase() === "content-length")) {
      throw new HttpError("bad-transfer-encoding", "both Transfer-Encoding and Content-Length (request smuggling?)");
    }
    if (codings.at(-1) === "chunked") {
      if (codings.length > 1 || codings.indexOf("chunked") !== codings.length - 1) {
        throw new HttpError("unsupported-transfer-encoding", `unsupported Transfer-Encoding: ${codings.join(", ")}`);
      }
      return { body: "chunked" };
    }
    // A request's body must end in chunked; a response's without it runs to the end of the stream.
    if (isRequest) throw new HttpError("bad-transfer-encoding", `Transfer-Encoding of a request does not end in chunked: ${codings.join(", ")}`);
    if (codings.some((c) => c !== "identity")) throw new HttpError("unsupported-transfer-encoding", `unsupported Transfer-Encoding: ${codings.join(", ")}`);
    return { body: "close" };
  }
  const contentLength = contentLengthOf(headers);
  if (contentLength === undefined) return undefined;
  return contentLength === 0 ? { body: "none", contentLength } : { body: "length", contentLength };
}

/**
 * The incremental state machine both parsers share: a start line, header fields, then a body delimited
 * by Content-Length, chunked coding or the end of the stream; then the next message.
 */
abstract class MessageParser<Head extends MessageHead> {
  private state: State = "start";
  private readonly line = new ByteBuffer();
  /** Bytes of the current head (or trailer section) so far, against maxHeadBytes. */
  private headBytes = 0;
  private emptyLines = 0;
  private startLine = "";
  private fields: HeaderList = [];
  private remaining = 0;
  private readonly limits: ParserLimits;
  /** The error that killed the parser, repeated if input keeps coming. */
  private failure: HttpError | undefined;

  constructor(limits: Partial<ParserLimits> = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  /** Parses the start line and headers into a head; throws HttpError. */
  protected abstract makeHead(startLine: string, headers: HeaderList): Head;
  /** Checks a start line still arriving, so non-HTTP bytes fail at once instead of waiting for a newline. */
  protected abstract checkPartialStart(partial: Uint8Array): void;
  /** Checks a complete start line before reading headers; throws HttpError. */
  protected abstract checkStart(startLine: string): void;

  /** Feeds bytes; returns what they completed. Never throws on input. */
  push(chunk: Uint8Array): ParseEvent<Head>[] {
    return this.run(chunk, false).events;
  }

  /**
   * Feeds bytes up to the end of one message at most, so a caller can hold back pipelined messages until
   * it answered this one; `consumed` bytes of `chunk` were used, the rest must be pushed again later.
   */
  pushUntilMessageEnd(chunk: Uint8Array): { events: ParseEvent<Head>[]; consumed: number } {
    return this.run(chunk, true);
  }

  /** The stream ended: completes a close-delimited body; a message cut short is an error. */
  finish(): ParseEvent<Head>[] {
    if (this.failure) return [{ type: "error", error: this.failure }];
    if (this.state === "body-close") {
      this.state = "dead";
      return [{ type: "end", trailers: [] }];
    }
    if (this.state === "dead" || (this.state === "start" && this.line.length === 0)) return [];
    return [this.fail(new HttpError("truncated", `the stream ended inside a message (${this.state})`))];
  }

  /** Between messages: nothing of a next message has arrived yet. */
  get idle(): boolean {
    return this.state === "start" && this.line.length === 0 && this.emptyLines === 0;
  }

  private fail(error: HttpError): ParseEvent<Head> {
    this.failure = error;
    this.state = "dead";
    this.line.clear();
    return { type: "error", error };
  }

  private run(chunk: Uint8Array, stopAtEnd: boolean): { events: ParseEvent<Head>[]; consumed: number } {
    const events: ParseEvent<Head>[] = [];
    if (this.failure) return { events: [{ type: "error", error: this.failure }], consumed: chunk.length };
    let at = 0;
    try {
      while (at < chunk.length) {
        const state = this.state;
        if (state === "dead") {
          at = chunk.length; // after a close-delimited body nothing more can be a message
        } else if (state === "body-close") {
          events.push({ type: "body", bytes: chunk.subarray(at) });
          at = chunk.length;
        } else if (state === "body-length" || state === "chunk-data") {
          const n = Math.min(this.remaining, chunk.length - at);
          events.push({ type: "body", bytes: chunk.subarray(at, at + n) });
          at += n;
          this.remaining -= n;
          if (this.remaining === 0) {
            if (state === "chunk-data") this.state = "chunk-data-end";
            else {
              this.endMessage(events, []);
              if (stopAtEnd) break;
            }
          }
        } else {
          const lf = chunk.indexOf(LF, at);
          const end = lf < 0 ? chunk.length : lf + 1;
          const limit = state === "chunk-size" || state === "chunk-data-end" ? MAX_CHUNK_LINE : this.limits.maxHeadBytes;
          const used = (state === "chunk-size" || state === "chunk-data-end" ? 0 : this.headBytes) + this.line.length + (end - at);
          if (used > limit) {
            if (state === "chunk-size" || state === "chunk-data-end") throw new HttpError("bad-chunk", "chunk-size line too long");
            throw new HttpError("head-too-large", `${state === "trailers" ? "trailer section" : "head"} larger than ${limit} bytes`);
          }
          this.line.append(chunk.subarray(at, end));
          at = end;
          if (lf < 0) {
            if (state === "start") this.checkPartialStart(this.line.view());
            break;
          }
          const ended = this.onLine(events);
          if (ended && stopAtEnd) break;
        }
      }
    } catch (e) {
      if (!(e instanceof HttpError)) throw e;
      events.push(this.fail(e));
      at = chunk.length;
    }
    return { events, consumed: at };
  }

  /** A complete line is in `this.line` (with its LF); returns whether it ended a message. */
  private onLine(events: ParseEvent<Head>[]): boolean {
    const raw = this.line.view();
    // LF alone ends a line too (RFC 9112 section 2.2); a CR anywhere else is an error.
    const contentEnd = raw.length >= 2 && raw[raw.length - 2] === CR ? raw.length - 2 : raw.length - 1;
    const content = raw.subarray(0, contentEnd);
    if (content.includes(CR)) throw new HttpError(this.state === "start" ? "not-http" : this.state.startsWith("chunk") ? "bad-chunk" : "bad-header", "bare CR in a line");
    const text = latin1(content);
    const lineBytes = raw.length;
    this.line.clear();

    switch (this.state) {
      case "start":
        if (text.length === 0) {
          if (++this.emptyLines > MAX_LEADING_EMPTY_LINES) throw new HttpError("not-http", "empty lines instead of a start line");
          return false;
        }
        this.emptyLines = 0;
        this.checkStart(text);
        this.startLine = text;
        this.headBytes = lineBytes;
        this.fields = [];
        this.state = "headers";
        return false;
      case "headers":
        this.headBytes += lineBytes;
        if (text.length > 0) {
          if (text.charCodeAt(0) === SP || text.charCodeAt(0) === HTAB) throw new HttpError("bad-header", "obsolete line folding or whitespace before a header");
          if (this.fields.length >= this.limits.maxHeaders) throw new HttpError("too-many-headers", `more than ${this.limits.maxHeaders} header fields`);
          parseFieldLine(text, this.fields);
          return false;
        }
        return this.onHead(events);
      case "chunk-size": {
        const m = /^([0-9a-fA-F]{1,13})[ \t]*(;.*)?$/.exec(text);
        if (!m?.[1]) throw new HttpError("bad-chunk", `malformed chunk-size line: ${JSON.stringify(text.slice(0, 40))}`);
        const size = parseInt(m[1], 16);
        if (size === 0) {
          this.state = "trailers";
          this.headBytes = 0;
          this.fields = [];
        } else {
          this.remaining = size;
          this.state = "chunk-data";
        }
        return false;
      }
      case "chunk-data-end":
        if (text.length > 0) throw new HttpError("bad-chunk", "chunk data longer than its size");
        this.state = "chunk-size";
        return false;
      case "trailers":
        this.headBytes += lineBytes;
        if (text.length > 0) {
          if (this.fields.length >= this.limits.maxHeaders) throw new HttpError("too-many-headers", `more than ${this.limits.maxHeaders} trailer fields`);
          parseFieldLine(text, this.fields);
          return false;
        }
        this.endMessage(events, this.fields);
        return true;
      default:
        return false;
    }
  }

  private onHead(events: ParseEvent<Head>[]): boolean {
    const head = this.makeHead(this.startLine, this.fields);
    events.push({ type: "head", head });
    switch (head.body) {
      case "length":
        this.remaining = head.contentLength ?? 0;
        this.state = "body-length";
        return false;
      case "chunked":
        this.state = "chunk-size";
        return false;
      case "close":
        this.state = "body-close";
        return false;
      case "none":
        this.endMessage(events, []);
        return true;
    }
  }

  private endMessage(events: ParseEvent<Head>[], trailers: HeaderList): void {
    events.push({ type: "end", trailers });
    this.state = "start";
    this.headBytes = 0;
    this.fields = [];
    this.onMessageEnd();
  }

  protected onMessageEnd(): void {}
}

/** Requests as a client sends them, several per connection (keep-alive, pipelining). */
export class RequestParser extends MessageParser<RequestHead> {
  protected checkPartialStart(partial: Uint8Array): void {
    let i = 0;
    while (i < partial.length && (partial[i] === CR || partial[i] === LF)) i++;
    const start = i;
    for (; i < partial.length && partial[i] !== SP; i++) {
      if (!TCHAR[partial[i] ?? 0] || i - start >= MAX_METHOD) throw new HttpError("not-http", "the first bytes are not an HTTP request line");
    }
  }

  protected checkStart(startLine: string): void {
    this.parseStart(startLine);
  }

  private parseStart(startLine: string): { method: string; target: string; version: HttpVersion } {
    const parts = startLine.split(" ");
    const [method = "", target = "", versionText = ""] = parts;
    if (parts.length !== 3 || !isToken(method) || method.length > MAX_METHOD) throw new HttpError("not-http", `malformed request line: ${JSON.stringify(startLine.slice(0, 80))}`);
    if (!/^[\x21-\x7e]+$/.test(target)) throw new HttpError("not-http", "malformed request-target");
    return { method, target, version: versionOf(versionText) };
  }

  protected makeHead(startLine: string, headers: HeaderList): RequestHead {
    const { method, target, version } = this.parseStart(startLine);
    if (headers.filter(([n]) => n.toLowerCase() === "host").length > 1) throw new HttpError("bad-header", "more than one Host header");
    const framing = framingOf(headers, true) ?? { body: "none" as const };
    return {
      method,
      target,
      version,
      headers,
      keepAlive: keepAliveOf(version, headers),
      ...framing,
      expectContinue: version === "HTTP/1.1" && headerTokens(headers, "expect").includes("100-continue"),
    };
  }
}

/**
 * Responses to requests sent on the same connection. Call `expectResponse(method)` for each request in
 * the order sent: a response to HEAD has no body whatever its headers say.
 */
export class ResponseParser extends MessageParser<ResponseHead> {
  private readonly methods: string[] = [];
  /** The head just parsed was interim (1xx): its end does not finish the request's response. */
  private nextHeadPending = false;

  expectResponse(method: string): void {
    this.methods.push(method.toUpperCase());
  }

  protected checkPartialStart(partial: Uint8Array): void {
    let i = 0;
    while (i < partial.length && (partial[i] === CR || partial[i] === LF)) i++;
    const prefix = "HTTP/";
    for (let j = 0; j < prefix.length && i + j < partial.length; j++) {
      if (partial[i + j] !== prefix.charCodeAt(j)) throw new HttpError("not-http", "the first bytes are not an HTTP status line");
    }
  }

  protected checkStart(startLine: string): void {
    this.parseStart(startLine);
  }

  private parseStart(startLine: string): { version: HttpVersion; status: number; reason: string } {
    const m = /^(HTTP\/\d\.\d) (\d{3})(?: ([^]*))?$/.exec(startLine);
    if (!m?.[1] || !m[2]) throw new HttpError("not-http", `malformed status line: ${JSON.stringify(startLine.slice(0, 80))}`);
    const status = Number(m[2]);
    if (status < 100) throw new HttpError("not-http", `status ${m[2]}`);
    return { version: versionOf(m[1]), status, reason: m[3] ?? "" };
  }

  protected makeHead(startLine: string, headers: HeaderList): ResponseHead {
    const { version, status, reason } = this.parseStart(startLine);
    const method = this.methods[0] ?? "GET";
    let framing: { body: BodyFraming; contentLength?: number };
    let keepAlive = keepAliveOf(version, headers);
    if (status >= 100 && status < 200 && status !== 101) {
      // An interim response (100 Continue, 103 Early Hints): the final one follows for the same request.
      this.nextHeadPending = true;
      framing = { body: "none" };
    } else if (status === 101 || (method === "CONNECT" && status < 300)) {
      framing = { body: "close" }; // the connection now carries another protocol: everything is "body"
      keepAlive = false;
    } else if (method === "HEAD" || status === 204 || status === 304) {
      const contentLength = method === "HEAD" ? contentLengthOrUndefined(headers) : undefined;
      framing = contentLength === undefined ? { body: "none" } : { body: "none", contentLength };
    } else {
      framing = framingOf(headers, false) ?? { body: "close" };
      // A body delimited by the end of the stream, or a response with both framing headers, ends the connection.
      if (framing.body === "close" || (framing.body === "chunked" && headers.some(([n]) => n.toLowerCase() === "content-length"))) keepAlive = false;
    }
    return { version, status, reason, headers, keepAlive, ...framing };
  }

  protected override onMessageEnd(): void {
    if (this.nextHeadPending) {
      this.nextHeadPending = false; // the interim response's "end" leaves the request waiting for its final one
      return;
    }
    this.methods.shift();
  }
}

/** A HEAD response's Content-Length is informative only; an unparsable one is ignored rather than fatal. */
function contentLengthOrUndefined(headers: HeaderList): number | undefined {
  try {
    return contentLengthOf(headers);
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Serializing

const REASONS: Record<number, string> = {
  100: "Continue",
  101: "Switching Protocols",
  200: "OK",
  201: "Created",
  202: "Accepted",
  204: "No Content",
  206: "Partial Content",
  301: "Moved Permanently",
  302: "Found",
  303: "See Other",
  304: "Not Modified",
  307: "Temporary Redirect",
  308: "Permanent Redirect",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  411: "Length Required",
  413: "Content Too Large",
  414: "URI Too Long",
  415: "Unsupported Media Type",
  416: "Range Not Satisfiable",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  505: "HTTP Version Not Supported",
};

export const reasonPhrase = (status: number): string => REASONS[status] ?? "";

/** Fields that describe one connection or the framing, set by the serializers rather than passed through. */
const FRAMING_FIELDS = new Set(["connection", "keep-alive", "transfer-encoding", "content-length"]);

function headText(startLine: string, headers: HeaderList): Uint8Array {
  let text = startLine + "\r\n";
  for (const [name, value] of headers) {
    if (!isToken(name)) throw new HttpError("bad-header", `invalid header name ${JSON.stringify(name)}`);
    // CR or LF in a value would let the value write further headers (response splitting).
    if (/[\0\r\n]/.test(value)) throw new HttpError("bad-header", `invalid character in header ${name}`);
    text += `${name}: ${value}\r\n`;
  }
  return latin1Bytes(text + "\r\n");
}

/** Encodes a body in the framing its head announced. */
export class BodyEncoder {
  private sent = 0;
  private ended = false;

  constructor(
    readonly framing: BodyFraming,
    private readonly length = 0,
  ) {}

  /** The wire bytes for the next piece of body (an empty piece gives empty bytes: a zero chunk would end it). */
  chunk(bytes: Uint8Array): Uint8Array {
    if (this.ended) throw new Error("body already ended");
    if (bytes.length === 0) return new Uint8Array(0);
    this.sent += bytes.length;
    switch (this.framing) {
      case "none":
        throw new Error("this message has no body");
      case "length":
        if (this.sent > this.length) throw new Error(`body longer than its Content-Length ${this.length}`);
        return bytes;
      case "close":
        return bytes;
      case "chunked": {
        const size = latin1Bytes(bytes.length.toString(16) + "\r\n");
        const out = new Uint8Array(size.length + bytes.length + 2);
        out.set(size);
        out.set(bytes, size.length);
        out[out.length - 2] = CR;
        out[out.length - 1] = LF;
        return out;
      }
    }
  }

  /** The wire bytes that end the body (the last chunk and trailers for chunked; nothing otherwise). */
  end(trailers: HeaderList = []): Uint8Array {
    if (this.ended) throw new Error("body already ended");
    this.ended = true;
    if (this.framing === "length" && this.sent !== this.length) throw new Error(`body of ${this.sent} bytes, Content-Length ${this.length}`);
    if (this.framing !== "chunked") return new Uint8Array(0);
    return headText("0", trailers);
  }
}

export interface ResponseStart {
  status: number;
  /** Defaults to the standard phrase for the status. */
  reason?: string;
  /** End-to-end headers; Connection, Keep-Alive, Transfer-Encoding and Content-Length are replaced. */
  headers?: HeaderList;
  /** The body's length when known in advance: sent with Content-Length. */
  contentLength?: number;
}

/**
 * The head of a response to `request` and an encoder for its body. The framing follows the request: no body
 * for HEAD, 1xx, 204 and 304; Content-Length when the length is known; else chunked for an HTTP/1.1 client
 * and the end of the connection for an HTTP/1.0 one. `keepAlive` says whether the connection may carry
 * another request afterwards.
 */
export function startResponse(
  request: Pick<RequestHead, "method" | "version" | "keepAlive">,
  response: ResponseStart,
): { head: Uint8Array; body: BodyEncoder; keepAlive: boolean } {
  const { status } = response;
  if (!Number.isInteger(status) || status < 100 || status > 999) throw new Error(`invalid status ${status}`);
  const headers: HeaderList = (response.headers ?? []).filter(([n]) => !FRAMING_FIELDS.has(n.toLowerCase()));
  const noBody = request.method.toUpperCase() === "HEAD" || status < 200 || status === 204 || status === 304;
  let framing: BodyFraming;
  if (noBody) {
    framing = "none";
    if (request.method.toUpperCase() === "HEAD" && response.contentLength !== undefined) headers.push(["Content-Length", String(response.contentLength)]);
  } else if (response.contentLength !== undefined) {
    framing = response.contentLength === 0 ? "none" : "length";
    headers.push(["Content-Length", String(response.contentLength)]);
  } else if (request.version === "HTTP/1.1") {
    framing = "chunked";
    headers.push(["Transfer-Encoding", "chunked"]);
  } else {
    framing = "close";
  }
  const keepAlive = request.keepAlive && framing !== "close" && status >= 200;
  if (status >= 200) {
    if (!keepAlive) headers.push(["Connection", "close"]);
    else if (request.version === "HTTP/1.0") headers.push(["Connection", "keep-alive"]);
  }
  const reason = response.reason ?? reasonPhrase(status);
  const head = headText(`HTTP/1.1 ${status} ${reason.replace(/[\r\n]/g, " ")}`, headers);
  return { head, body: new BodyEncoder(framing, response.contentLength ?? 0), keepAlive: status < 200 ? request.keepAlive : keepAlive };
}

export interface RequestStart {
  method: string;
  /** Origin-form "/path?query" normally; absolute-form for a proxy. */
  target: string;
  /** End-to-end headers; Host is required (here or as `host`); framing headers are replaced. */
  headers?: HeaderList;
  /** The Host header's value, added first if `headers` has none. */
  host?: string;
  /** The body: its length (sent with Content-Length), "chunked" when unknown, absent for none. */
  body?: number | "chunked";
  /** Ask the server to close after the response (default: keep the connection). */
  close?: boolean;
}

/** An HTTP/1.1 request head and an encoder for its body. */
export function startRequest(request: RequestStart): { head: Uint8Array; body: BodyEncoder } {
  if (!isToken(request.method)) throw new Error(`invalid method ${JSON.stringify(request.method)}`);
  if (!/^[\x21-\x7e]+$/.test(request.target)) throw new Error(`invalid request-target ${JSON.stringify(request.target)}`);
  const headers: HeaderList = (request.headers ?? []).filter(([n]) => !FRAMING_FIELDS.has(n.toLowerCase()));
  if (!headers.some(([n]) => n.toLowerCase() === "host")) {
    if (request.host === undefined) throw new Error("an HTTP/1.1 request needs a Host header");
    headers.unshift(["Host", request.host]);
  }
  let body: BodyEncoder;
  if (request.body === "chunked") {
    headers.push(["Transfer-Encoding", "chunked"]);
    body = new BodyEncoder("chunked");
  } else if (request.body !== undefined) {
    headers.push(["Content-Length", String(request.body)]);
    body = new BodyEncoder(request.body === 0 ? "none" : "length", request.body);
  } else {
    body = new BodyEncoder("none");
  }
  if (request.close) headers.push(["Connection", "close"]);
  return { head: headText(`${request.method} ${request.target} HTTP/1.1`, headers), body };
}
