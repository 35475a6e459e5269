// A TcpConnector for plain HTTP through the Fetch API: the guest's requests are parsed off its TCP stream,
// sent with fetch(), and the responses written back as HTTP/1.1. No sockets needed, so it works in a
// browser tab, within the limits the browser puts on fetch (CORS, mixed content, forbidden headers).
import { RequestParser, headerTokens, latin1Bytes, startResponse, type BodyFraming, type HttpError, type HeaderList, type RequestEvent, type RequestHead } from "./http1.ts";
import type { OutsideStream, StreamSink, TcpConnector, TcpTarget } from "./transport.ts";

/** The fetch to call: the global one in a worker or Node, or a wrapper. Passed in so this module stays pure. */
export type FetchFunction = (url: string, init: FetchInit) => Promise<Response>;

/** The part of RequestInit used here, spelled out so this core type-checks under DOM, WebWorker and Node libs. */
export interface FetchInit {
  method: string;
  headers: [string, string][];
  redirect: "manual" | "follow";
  cache: "no-store";
  credentials: FetchCredentials;
  signal: AbortSignal;
  body?: Uint8Array<ArrayBuffer>;
}

export type FetchCredentials = "omit" | "same-origin" | "include";

export interface AllowRule {
  /**
   * "example.com" (that name only), "*.example.com" (its subdomains, not itself), "*" (any host), an IPv4
   * literal such as "10.0.2.2", or a RegExp tested against the lower-case host name.
   */
  host: string | RegExp;
  /** Allowed ports; any port when absent. */
  ports?: readonly number[];
}

/** Which hosts the guest may reach: rules, or a predicate over the host name (lower case) and port. */
export type AllowList = readonly AllowRule[] | ((host: string, port: number) => boolean);

export interface FetchConnectorOptions {
  fetch: FetchFunction;
  /** Checked for every request against the host and port the guest asked for; others get a 403. */
  allow: AllowList;
  /**
   * Where a connection's requests go instead of `http://<host>:<port>`: a URL base such as
   * "http://localhost:5173" that the request's path is appended to; undefined keeps the default.
   */
  rewrite?: (target: TcpTarget) => string | undefined;
  /** Request bodies are collected whole before fetch (browsers cannot stream uploads over HTTP/1.1). Default 16 MiB. */
  maxRequestBody?: number;
  /** fetch's credentials mode. Default "omit": the guest must not send the page's cookies. */
  credentials?: FetchCredentials;
}

const DEFAULT_MAX_REQUEST_BODY = 16 * 1024 * 1024;

/**
 * Request headers not forwarded: hop-by-hop ones (RFC 9110 section 7.6.1), framing that fetch sets itself,
 * Expect (we answer 100-continue ourselves) and Accept-Encoding (fetch negotiates its own and decodes).
 */
const DROP_REQUEST = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "proxy-authorization", "host", "content-length", "expect", "accept-encoding"]);
/** Response headers not passed on: hop-by-hop ones and the framing we set ourselves. */
const DROP_RESPONSE = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "proxy-authenticate", "content-length"]);
/** Content codings fetch decodes (and so asks for) by itself: the body we read is already decoded. */
const DECODED_CODINGS = new Set(["gzip", "x-gzip", "deflate", "br", "zstd"]);

function hostMatches(pattern: string | RegExp, host: string): boolean {
  if (typeof pattern !== "string") {
    pattern.lastIndex = 0;
    return pattern.test(host);
  }
  const p = pattern.toLowerCase();
  if (p === "*") return true;
  if (p.startsWith("*.")) return host.endsWith(p.slice(1)) && host.length > p.length - 1;
  return host === p;
}

/** Whether the allow-list lets the guest reach `host:port`. */
export function isAllowed(allow: AllowList, host: string, port: number): boolean {
  const name = host.toLowerCase().replace(/\.$/, "");
  if (typeof allow === "function") return allow(name, port);
  return allow.some((rule) => (rule.ports === undefined || rule.ports.includes(port)) && hostMatches(rule.host, name));
}

/** An HTTP answer we make up ourselves (refusals, failures), as plain text so wget or curl shows why. */
class Refusal {
  constructor(
    readonly status: number,
    readonly message: string,
  ) {}
}

interface Destination {
  /** What the guest asked for: the allow-list is checked against this. */
  host: string;
  port: number;
  /** What fetch is called with. */
  url: string;
}

/** The URL for a request: from an absolute-form target, else the Host header (else the connection's target). */
function destination(head: RequestHead, target: TcpTarget, rewrite: FetchConnectorOptions["rewrite"]): Destination | Refusal {
  let host: string;
  let port: number;
  let path: string;
  if (/^https?:\/\//i.test(head.target)) {
    // Absolute form: the guest uses us as its proxy (http_proxy=...).
    let url: URL;
    try {
      url = new URL(head.target);
    } catch {
      return new Refusal(400, `malformed request-target ${head.target}`);
    }
    if (url.protocol !== "http:") return new Refusal(400, `only http:// URLs can be proxied, not ${url.protocol}`);
    host = url.hostname;
    port = url.port ? Number(url.port) : 80;
    path = url.pathname + url.search;
  } else if (head.target.startsWith("/")) {
    path = head.target;
    const hostHeader = headerTokens(head.headers, "host")[0];
    if (hostHeader) {
      let url: URL;
      try {
        url = new URL(`http://${hostHeader}/`);
      } catch {
        return new Refusal(400, `malformed Host header ${hostHeader}`);
      }
      if (url.username || url.password || url.pathname !== "/") return new Refusal(400, `malformed Host header ${hostHeader}`);
      host = url.hostname;
      // A Host without port names the connection's port (the guest's client omits it only for the default).
      port = url.port ? Number(url.port) : target.port;
    } else {
      host = target.hostname ?? target.ip;
      port = target.port;
    }
  } else {
    return new Refusal(400, `unsupported request-target ${head.target.slice(0, 100)}`);
  }
  const base = rewrite?.(target);
  const origin = base !== undefined ? base.replace(/\/+$/, "") : `http://${host}${port === 80 ? "" : `:${port}`}`;
  try {
    // Concatenated, not resolved against the base: a path "//other.host/" must stay a path.
    return { host, port, url: new URL(origin + path).href };
  } catch {
    return new Refusal(400, `cannot make a URL from ${origin} and ${path.slice(0, 100)}`);
  }
}

/** A fetch failure as one line: Node puts the socket error in `cause`; browsers say only "Failed to fetch". */
function describeFailure(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? error.cause.message : typeof error.cause === "string" ? error.cause : "";
  return cause ? `${error.message}: ${cause}` : error.message;
}

/** Response headers for the guest, and the body length when the body reaches it as sent. */
function responseHeaders(response: Response): { headers: HeaderList; contentLength?: number } {
  const connectionTokens = new Set(headerTokens([["connection", response.headers.get("connection") ?? ""]], "connection"));
  const codings = (response.headers.get("content-encoding") ?? "")
    .split(",")
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c.length > 0);
  // fetch decoded the body: its Content-Encoding and Content-Length describe bytes the guest never sees.
  const decoded = codings.length > 0 && codings.every((c) => DECODED_CODINGS.has(c));
  const headers: HeaderList = [];
  response.headers.forEach((value, name) => {
    if (DROP_RESPONSE.has(name) || connectionTokens.has(name) || name === "set-cookie" || (decoded && name === "content-encoding")) return;
    headers.push([name, value]);
  });
  // Headers joins repeated fields with ", ", which would break Set-Cookie; browsers hide it from pages anyway.
  for (const cookie of response.headers.getSetCookie?.() ?? []) headers.push(["set-cookie", cookie]);
  const length = response.headers.get("content-length");
  const contentLength = !decoded && length !== null && /^\d{1,15}$/.test(length.trim()) ? Number(length.trim()) : undefined;
  return contentLength === undefined ? { headers } : { headers, contentLength };
}

type RequestShape = Pick<RequestHead, "method" | "version" | "keepAlive">;
/** The request line we answer when the guest's request could not be read whole. */
const UNREADABLE: RequestShape = { method: "GET", version: "HTTP/1.1", keepAlive: false };

interface PendingRequest {
  head: RequestHead;
  parts: Uint8Array[];
  size: number;
}

/** One guest connection: requests answered one at a time, in order (pipelined ones wait, counted in `buffered`). */
class FetchStream implements OutsideStream {
  private readonly parser = new RequestParser();
  private readonly controller = new AbortController();
  private readonly maxBody: number;
  /** The request being read from the guest. */
  private current: PendingRequest | undefined;
  /** A request is being answered; input waits in `stash` meanwhile. */
  private busy = false;
  private readonly stash: Uint8Array[] = [];
  private stashed = 0;
  private inputEnded = false;
  /** We ended or failed the stream (or the stack aborted it): no more requests are read. */
  private finished = false;
  private aborted = false;
  private paused = false;
  /** Output held while the sink is paused, then an end if one is due. */
  private readonly outbox: Uint8Array[] = [];
  private endPending = false;
  private waiters: (() => void)[] = [];

  constructor(
    private readonly target: TcpTarget,
    private readonly sink: StreamSink,
    private readonly options: FetchConnectorOptions,
  ) {
    this.maxBody = options.maxRequestBody ?? DEFAULT_MAX_REQUEST_BODY;
  }

  get buffered(): number {
    return this.stashed;
  }

  write(bytes: Uint8Array): void {
    if (this.finished || this.inputEnded || bytes.length === 0) return;
    if (this.busy || this.stash.length > 0) {
      this.stash.push(bytes.slice());
      this.stashed += bytes.length;
      return;
    }
    this.ingest(bytes);
  }

  end(): void {
    if (this.inputEnded) return;
    this.inputEnded = true;
    if (!this.busy && this.stash.length === 0) this.finishInput();
  }

  abort(): void {
    this.aborted = true;
    this.finished = true;
    this.outbox.length = 0;
    this.controller.abort();
    this.wake();
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.flush();
  }

  /** Parses bytes up to the end of one request at a time; what follows a complete request waits. */
  private ingest(bytes: Uint8Array): void {
    let rest = bytes;
    while (rest.length > 0 && !this.busy && !this.finished) {
      const { events, consumed } = this.parser.pushUntilMessageEnd(rest);
      rest = rest.subarray(consumed);
      for (const event of events) this.onEvent(event);
    }
    if (rest.length > 0 && !this.finished) {
      this.stash.unshift(rest.slice());
      this.stashed += rest.length;
    }
  }

  private onEvent(event: RequestEvent): void {
    if (this.finished) return;
    switch (event.type) {
      case "head": {
        const { head } = event;
        this.current = { head, parts: [], size: 0 };
        if (head.body === "length" && (head.contentLength ?? 0) > this.maxBody) {
          this.replyAndClose({ ...head, keepAlive: false }, 413, `request body of ${head.contentLength} bytes; the fetch transport takes at most ${this.maxBody}`);
          return;
        }
        if (head.expectContinue && head.body !== "none") this.out(latin1Bytes("HTTP/1.1 100 Continue\r\n\r\n"));
        return;
      }
      case "body": {
        const current = this.current;
        if (!current) return;
        current.size += event.bytes.length;
        if (current.size > this.maxBody) {
          this.replyAndClose({ ...current.head, keepAlive: false }, 413, `request body larger than ${this.maxBody} bytes`);
          return;
        }
        current.parts.push(event.bytes.slice());
        return;
      }
      case "end": {
        const current = this.current;
        this.current = undefined;
        if (!current) return;
        this.busy = true;
        void this.answer(current).then(
          (keepAlive) => this.answered(keepAlive),
          (error: unknown) => this.fail(`fetch transport: ${describeFailure(error)}`),
        );
        return;
      }
      case "error":
        this.onParseError(event.error);
        return;
    }
  }

  private onParseError(error: HttpError): void {
    // Not HTTP at all (e.g. a TLS ClientHello on port 443): a reset tells the client at once.
    if (error.code === "not-http") {
      this.fail(`not HTTP: ${error.message}`);
      return;
    }
    this.replyAndClose(this.current ? { ...this.current.head, keepAlive: false } : UNREADABLE, error.status, `bad request: ${error.message}`);
  }

  /** After a response: close, or read the next request. */
  private answered(keepAlive: boolean): void {
    this.busy = false;
    if (this.finished) return;
    if (!keepAlive) {
      this.endOutput();
      return;
    }
    const before = this.stashed;
    while (!this.busy && !this.finished && this.stash.length > 0) {
      const chunk = this.stash.shift();
      if (!chunk) break;
      this.stashed -= chunk.length;
      this.ingest(chunk);
    }
    if (this.finished) return;
    if (this.stashed < before) this.sink.drain();
    if (!this.busy && this.stash.length === 0 && this.inputEnded) this.finishInput();
  }

  /** The guest finished sending and every complete request was answered. */
  private finishInput(): void {
    if (this.finished) return;
    // A request cut short by the guest's FIN gets no answer: the guest has stopped sending, not reading.
    this.parser.finish();
    this.endOutput();
  }

  /** Answers one request; resolves whether the connection stays open for another. */
  private async answer(request: PendingRequest): Promise<boolean> {
    const { head } = request;
    const method = head.method.toUpperCase();
    if (method === "CONNECT") return this.reply(head, 501, "CONNECT is not supported by the fetch transport (plain HTTP only)");
    if (method === "TRACE" || method === "TRACK") return this.reply(head, 405, `fetch cannot send ${method} requests`);
    const dest = destination(head, this.target, this.options.rewrite);
    if (dest instanceof Refusal) return this.reply({ ...head, keepAlive: false }, dest.status, dest.message);
    if (!isAllowed(this.options.allow, dest.host, dest.port)) {
      return this.reply(head, 403, `${dest.host}:${dest.port} is not on the fetch transport's allow-list`);
    }

    const headers: [string, string][] = [];
    const connectionTokens = new Set(headerTokens(head.headers, "connection"));
    for (const [name, value] of head.headers) {
      const lower = name.toLowerCase();
      if (!DROP_REQUEST.has(lower) && !connectionTokens.has(lower)) headers.push([name, value]);
    }
    const init: FetchInit = {
      method: head.method,
      headers,
      // The guest sees redirects itself, as from a real server (wget and curl follow them as they choose).
      redirect: "manual",
      cache: "no-store",
      credentials: this.options.credentials ?? "omit",
      signal: this.controller.signal,
    };
    if (method !== "GET" && method !== "HEAD" && request.size > 0) {
      const body = new Uint8Array(request.size);
      let at = 0;
      for (const part of request.parts) {
        body.set(part, at);
        at += part.length;
      }
      init.body = body;
    }

    let response: Response;
    try {
      response = await this.options.fetch(dest.url, init);
      // A browser hides a manual redirect's status and Location (an "opaqueredirect" with status 0). For GET
      // and HEAD we fetch again following it, so the guest gets the final resource; others cannot be replayed.
      if (response.type === "opaqueredirect") {
        if (method !== "GET" && method !== "HEAD") {
          return this.reply(head, 502, `${dest.url} answered ${head.method} with a redirect the browser does not reveal`);
        }
        response = await this.options.fetch(dest.url, { ...init, redirect: "follow" });
      }
    } catch (error) {
      if (this.aborted) return false;
      return this.reply(head, 502, `fetch ${dest.url} failed: ${describeFailure(error)}\n(in a browser: the server is unreachable, or does not allow this page's origin by CORS)`);
    }
    if (this.aborted) return false;
    if (response.status < 200 || response.status > 599) {
      void response.body?.cancel();
      return this.reply(head, 502, `fetch ${dest.url} gave an unusable response (type ${response.type}, status ${response.status})`);
    }
    return this.relay(head, response);
  }

  /** Streams a fetch Response to the guest, reading the body only as fast as the guest takes it. */
  private async relay(request: RequestHead, response: Response): Promise<boolean> {
    const { headers, contentLength } = responseHeaders(response);
    const start = startResponse(request, { status: response.status, reason: response.statusText || undefined, headers, contentLength });
    this.out(start.head);
    const framing: BodyFraming = start.body.framing;
    if (framing === "none" || !response.body) {
      void response.body?.cancel();
      if (framing !== "none" && framing !== "close") this.out(start.body.end());
      return start.keepAlive;
    }
    const reader = response.body.getReader();
    try {
      for (;;) {
        await this.writable();
        if (this.aborted) {
          void reader.cancel();
          return false;
        }
        const { done, value } = await reader.read();
        if (this.aborted) return false;
        if (done) break;
        this.out(start.body.chunk(value));
      }
      this.out(start.body.end());
    } catch (error) {
      if (!this.aborted) this.fail(`the response body broke off: ${describeFailure(error)}`);
      void reader.cancel().catch(() => undefined);
      return false;
    }
    return start.keepAlive;
  }

  /** A made-up text response; resolves whether the connection stays open. */
  private reply(request: RequestShape, status: number, message: string): boolean {
    const text = new TextEncoder().encode(message + "\n");
    const start = startResponse(request, { status, headers: [["Content-Type", "text/plain; charset=utf-8"]], contentLength: text.length });
    this.out(start.head);
    if (start.body.framing !== "none") this.out(start.body.chunk(text));
    return start.keepAlive;
  }

  private replyAndClose(request: RequestShape, status: number, message: string): void {
    this.reply({ ...request, keepAlive: false }, status, message);
    this.endOutput();
  }

  /** Resolves once the sink takes data again (not paused, nothing held back). */
  private async writable(): Promise<void> {
    while ((this.paused || this.outbox.length > 0) && !this.aborted) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private out(bytes: Uint8Array): void {
    if (this.aborted || bytes.length === 0) return;
    if (this.paused || this.outbox.length > 0) this.outbox.push(bytes);
    else this.sink.data(bytes);
  }

  private flush(): void {
    while (!this.paused && !this.aborted) {
      const next = this.outbox.shift();
      if (!next) break;
      this.sink.data(next); // may pause again at once
    }
    if (this.paused || this.aborted) return;
    if (this.endPending) {
      this.endPending = false;
      this.sink.end();
    }
    this.wake();
  }

  /** Our FIN, after any held-back output. */
  private endOutput(): void {
    if (this.finished) return;
    this.finished = true;
    this.stash.length = 0;
    this.stashed = 0;
    if (this.outbox.length > 0 || this.paused) this.endPending = true;
    else this.sink.end();
  }

  /** A reset toward the guest. */
  private fail(reason: string): void {
    if (this.aborted) return;
    this.aborted = true;
    this.finished = true;
    this.outbox.length = 0;
    this.controller.abort();
    this.wake();
    this.sink.error(reason);
  }
}

/**
 * Connects guest TCP connections to fetch(). Every connection is accepted at once (the guest's connect()
 * succeeds); each request is then checked and answered on its own: a host off the allow-list gets a 403,
 * a failed fetch a 502, bytes that are not HTTP (TLS, SSH) a reset.
 */
export function fetchConnector(options: FetchConnectorOptions): TcpConnector {
  return (target, sink) => Promise.resolve(new FetchStream(target, sink, options));
}
