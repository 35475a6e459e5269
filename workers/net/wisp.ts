// A Wisp protocol v1 client (github.com/MercuryWorkshop/wisp-protocol): the guest's TCP connections and
// UDP flows, multiplexed as streams over one WebSocket to a relay that opens the real sockets. A pure
// core: the WebSocket class is passed in (the worker's global, or the `ws` package in Node).
import type { DatagramSink, DnsResolver, OutsideDatagrams, OutsideStream, StreamSink, TcpTarget, UdpConnector } from "./transport.ts";

// ---- Codec ---------------------------------------------------------------------------------------

export const PACKET_CONNECT = 0x01;
export const PACKET_DATA = 0x02;
export const PACKET_CONTINUE = 0x03;
export const PACKET_CLOSE = 0x04;

export const STREAM_TCP = 0x01;
export const STREAM_UDP = 0x02;

/** CLOSE reasons of Wisp v1 (the 0x4x ones only a server sends, 0x8x only a client). */
export const CLOSE_UNKNOWN = 0x01;
export const CLOSE_VOLUNTARY = 0x02;
export const CLOSE_NETWORK_ERROR = 0x03;
export const CLOSE_INCOMPATIBLE_EXTENSIONS = 0x04;
export const CLOSE_INVALID_INFO = 0x41;
export const CLOSE_UNREACHABLE = 0x42;
export const CLOSE_NO_RESPONSE = 0x43;
export const CLOSE_REFUSED = 0x44;
export const CLOSE_TIMEOUT = 0x47;
export const CLOSE_BLOCKED = 0x48;
export const CLOSE_THROTTLED = 0x49;
export const CLOSE_CLIENT_ERROR = 0x81;

const REASONS = new Map<number, string>([
  [CLOSE_UNKNOWN, "closed for an unknown reason"],
  [CLOSE_VOLUNTARY, "closed"],
  [CLOSE_NETWORK_ERROR, "network error"],
  [CLOSE_INCOMPATIBLE_EXTENSIONS, "incompatible protocol extensions"],
  [CLOSE_INVALID_INFO, "invalid stream information (host name, port or type)"],
  [CLOSE_UNREACHABLE, "host unreachable (or its name did not resolve)"],
  [CLOSE_NO_RESPONSE, "no response from the host"],
  [CLOSE_REFUSED, "connection refused"],
  [CLOSE_TIMEOUT, "transfer timed out"],
  [CLOSE_BLOCKED, "destination blocked by the relay"],
  [CLOSE_THROTTLED, "throttled by the relay (too many connections)"],
  [CLOSE_CLIENT_ERROR, "client error"],
]);

/** A CLOSE reason as words, e.g. 0x44 → "connection refused (Wisp 0x44)". */
export function closeReasonText(reason: number): string {
  const hex = `0x${reason.toString(16).padStart(2, "0")}`;
  return `${REASONS.get(reason) ?? "closed with an unknown reason"} (Wisp ${hex})`;
}

export type WispPacket =
  | { kind: "connect"; stream: number; streamType: number; port: number; hostname: string }
  | { kind: "data"; stream: number; data: Uint8Array }
  | { kind: "continue"; stream: number; remaining: number }
  | { kind: "close"; stream: number; reason: number }
  /** A type v1 does not define (e.g. v2's INFO); clients ignore it. */
  | { kind: "other"; type: number; stream: number; payload: Uint8Array };

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();
const HEADER = 5;

/** Serializes one packet: type u8, stream id u32 LE, payload. */
export function encodePacket(packet: WispPacket): Uint8Array<ArrayBuffer> {
  let payload: Uint8Array;
  let type: number;
  switch (packet.kind) {
    case "connect": {
      const name = utf8.encode(packet.hostname);
      payload = new Uint8Array(3 + name.length);
      payload[0] = packet.streamType;
      new DataView(payload.buffer).setUint16(1, packet.port, true);
      payload.set(name, 3);
      type = PACKET_CONNECT;
      break;
    }
    case "data":
      payload = packet.data;
      type = PACKET_DATA;
      break;
    case "continue":
      payload = new Uint8Array(4);
      new DataView(payload.buffer).setUint32(0, packet.remaining, true);
      type = PACKET_CONTINUE;
      break;
    case "close":
      payload = Uint8Array.of(packet.reason);
      type = PACKET_CLOSE;
      break;
    case "other":
      payload = packet.payload;
      type = packet.type;
      break;
  }
  const bytes = new Uint8Array(HEADER + payload.length);
  bytes[0] = type;
  new DataView(bytes.buffer).setUint32(1, packet.stream, true);
  bytes.set(payload, HEADER);
  return bytes;
}

/** Parses one packet (one WebSocket message); DATA's bytes are a view into `bytes`. Throws if truncated. */
export function decodePacket(bytes: Uint8Array): WispPacket {
  if (bytes.length < HEADER) throw new Error(`Wisp packet of ${bytes.length} bytes is shorter than its header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = view.getUint8(0);
  const stream = view.getUint32(1, true);
  const payload = bytes.subarray(HEADER);
  const need = (n: number, what: string): void => {
    if (payload.length < n) throw new Error(`Wisp ${what} packet with a ${payload.length}-byte payload (needs ${n})`);
  };
  switch (type) {
    case PACKET_CONNECT:
      need(3, "CONNECT");
      return { kind: "connect", stream, streamType: view.getUint8(5), port: view.getUint16(6, true), hostname: fromUtf8.decode(payload.subarray(3)) };
    case PACKET_DATA:
      return { kind: "data", stream, data: payload };
    case PACKET_CONTINUE:
      need(4, "CONTINUE");
      return { kind: "continue", stream, remaining: view.getUint32(5, true) };
    case PACKET_CLOSE:
      need(1, "CLOSE");
      return { kind: "close", stream, reason: view.getUint8(5) };
    default:
      return { kind: "other", type, stream, payload };
  }
}

// ---- The WebSocket we are given -----------------------------------------------------------------------

/** What the client reads from WebSocket events (browser Event/MessageEvent/CloseEvent, or `ws`'s). */
export interface WispSocketEvent {
  readonly type?: string;
  readonly data?: unknown;
  readonly code?: number;
  readonly reason?: string;
  /** `ws`'s ErrorEvent says why; a browser's error event does not. */
  readonly message?: string;
}

/** The part of a WebSocket the client uses: the browser's class and the `ws` package's both fit. */
export interface WispSocket {
  binaryType: string;
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: Uint8Array<ArrayBuffer>): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "open" | "message" | "close" | "error", listener: (event: WispSocketEvent) => void): void;
}

export type WispSocketConstructor = new (url: string) => WispSocket;

// ---- Client -------------------------------------------------------------------------------------------

export interface WispClientOptions {
  /** ws:// or wss:// URL of the relay, e.g. "ws://127.0.0.1:5173/wisp/". */
  url: string;
  /** The WebSocket class: the worker's global, or a `ws` subclass in Node. */
  WebSocket: WispSocketConstructor;
  /** Give up opening the WebSocket (open + the server's first CONTINUE) after this long. Default 10 s. */
  openTimeoutMs?: number;
  /** After a failed open, new streams fail at once with that error for this long (no reconnect storm). Default 1 s. */
  retryDelayMs?: number;
  /** Queued TCP bytes are coalesced into DATA packets of at most this size. Default 64 KiB. */
  maxPacketBytes?: number;
  /** TCP bytes wait (and count in `buffered`) while the WebSocket has more than this unsent. Default 1 MiB. */
  socketHighWater?: number;
}

export interface WispStatus {
  /** "open" once the relay sent its first CONTINUE; "closed" when no WebSocket is up (one opens on demand). */
  state: "connecting" | "open" | "closed";
  /** Streams (TCP and UDP) open now. */
  streams: number;
  /** The last failure (open refused or timed out, connection lost), if any. */
  error?: string;
  bytesSent: number;
  bytesReceived: number;
}

const DEFAULT_OPEN_TIMEOUT_MS = 10_000;
const DEFAULT_RETRY_DELAY_MS = 1000;
const DEFAULT_MAX_PACKET = 64 * 1024;
const DEFAULT_SOCKET_HIGH_WATER = 1024 * 1024;
/** How often a backed-up WebSocket is checked again (browsers have no event for bufferedAmount). */
const SOCKET_POLL_MS = 10;
/** The largest UDP payload over IPv4. */
const MAX_DATAGRAM = 65_507;
const WS_OPEN = 1;

type Settings = Required<Omit<WispClientOptions, "url" | "WebSocket">>;

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** What a stream is told when it ends: the peer closed (end) or something failed (error). */
type Ending = { end: true } | { end: false; reason: string };

interface Stream {
  /** Data arrived for this stream. */
  receive(bytes: Uint8Array): void;
  /** The relay or the connection ended the stream; it is already out of the connection's table. */
  finish(ending: Ending): void;
}

/** One WebSocket and the streams on it. */
class Connection {
  state: "connecting" | "open" | "closed" = "connecting";
  /** Packets a new TCP stream may send before its first CONTINUE (the server's CONTINUE on stream 0). */
  initialCredit = 0;
  readonly streams = new Map<number, Stream>();
  readonly ready: Promise<Connection>;
  private socket: WispSocket | undefined;
  private lastSocketError: string | undefined;
  private openTimer: ReturnType<typeof setTimeout> | undefined;
  private pollTimer: ReturnType<typeof setTimeout> | undefined;
  /** Streams waiting for the WebSocket's send buffer to drain. */
  private readonly waiting = new Set<TcpStream>();
  private settle: { resolve: (c: Connection) => void; reject: (e: Error) => void } | undefined;

  constructor(
    private readonly client: WispClient,
    private readonly options: Settings,
  ) {
    this.ready = new Promise<Connection>((resolve, reject) => (this.settle = { resolve, reject }));
    // Never an unhandled rejection: callers that care await `ready` themselves.
    this.ready.catch(() => undefined);
  }

  /** Opens the WebSocket; failures (even a synchronous throw for a bad URL) end in `fail`. */
  start(url: string, WebSocketClass: WispSocketConstructor): void {
    let socket: WispSocket;
    try {
      socket = new WebSocketClass(url);
    } catch (err) {
      this.fail(`cannot open the relay connection to ${url}: ${errorText(err)}`);
      return;
    }
    this.socket = socket;
    socket.binaryType = "arraybuffer";
    socket.addEventListener("message", (event) => this.onMessage(event.data));
    socket.addEventListener("error", (event) => {
      if (typeof event.message === "string" && event.message) this.lastSocketError = event.message;
    });
    socket.addEventListener("close", (event) => {
      const why = `code ${event.code ?? "?"}${event.reason ? `, ${event.reason}` : ""}${this.lastSocketError ? `: ${this.lastSocketError}` : ""}`;
      this.fail(this.state === "connecting" ? `could not open the relay connection to ${url} (${why})` : `relay connection lost (${why})`);
    });
    this.openTimer = setTimeout(() => this.fail(`opening the relay connection to ${url} timed out after ${this.options.openTimeoutMs} ms`), this.options.openTimeoutMs);
  }

  get bufferedAmount(): number {
    return this.socket?.bufferedAmount ?? 0;
  }

  send(packet: WispPacket): void {
    if (this.state !== "open" || this.socket?.readyState !== WS_OPEN) return;
    const bytes = encodePacket(packet);
    this.client.bytesSent += bytes.length;
    this.socket.send(bytes);
  }

  /** The next stream id: never 0 (the connection itself), never reused within a client. */
  add(stream: Stream): number {
    const id = this.client.nextStreamId();
    this.streams.set(id, stream);
    return id;
  }

  /** Our side closed a stream: tell the relay, forget it. */
  remove(id: number, reason: number): void {
    if (!this.streams.delete(id)) return;
    this.send({ kind: "close", stream: id, reason });
  }

  /** A TCP stream has bytes but the WebSocket is backed up: flush it once the socket drained. */
  waitForSocket(stream: TcpStream): void {
    this.waiting.add(stream);
    this.pollTimer ??= setTimeout(() => this.poll(), SOCKET_POLL_MS);
  }

  private poll(): void {
    this.pollTimer = undefined;
    if (this.state !== "open") return;
    if (this.bufferedAmount > this.options.socketHighWater) {
      this.pollTimer = setTimeout(() => this.poll(), SOCKET_POLL_MS);
      return;
    }
    const streams = [...this.waiting];
    this.waiting.clear();
    for (const stream of streams) stream.flush();
  }

  /** Closes the WebSocket and ends every stream with `reason` as an error; `record` keeps it as the client's last error. */
  fail(reason: string, record = true): void {
    if (this.state === "closed") return;
    const wasOpen = this.state === "open";
    this.state = "closed";
    clearTimeout(this.openTimer);
    clearTimeout(this.pollTimer);
    this.waiting.clear();
    if (record) this.client.connectionFailed(reason, wasOpen);
    this.settle?.reject(new Error(reason));
    if (this.socket && this.socket.readyState < 2) this.socket.close(1000);
    const streams = [...this.streams.values()];
    this.streams.clear();
    for (const stream of streams) stream.finish({ end: false, reason });
  }

  private onMessage(data: unknown): void {
    if (this.state === "closed") return;
    // Binary frames arrive as ArrayBuffer (binaryType "arraybuffer"); text frames are not Wisp.
    const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : undefined;
    if (!bytes) return;
    this.client.bytesReceived += bytes.length;
    let packet: WispPacket;
    try {
      packet = decodePacket(bytes);
    } catch (err) {
      this.fail(`relay sent a malformed packet: ${errorText(err)}`);
      return;
    }
    switch (packet.kind) {
      case "continue":
        if (packet.stream === 0) {
          this.initialCredit = packet.remaining;
          if (this.state === "connecting") {
            this.state = "open";
            clearTimeout(this.openTimer);
            this.client.connectionOpened();
            this.settle?.resolve(this);
          }
        } else {
          const stream = this.streams.get(packet.stream);
          if (stream instanceof TcpStream) stream.grant(packet.remaining);
        }
        break;
      case "data":
        this.streams.get(packet.stream)?.receive(packet.data);
        break;
      case "close": {
        const stream = this.streams.get(packet.stream);
        if (!stream) break;
        this.streams.delete(packet.stream);
        stream.finish(packet.reason === CLOSE_VOLUNTARY ? { end: true } : { end: false, reason: closeReasonText(packet.reason) });
        break;
      }
      default:
        // CONNECT from a server, or v2's INFO: not for a v1 client.
        break;
    }
  }
}

/** A guest TCP connection as a Wisp stream. */
class TcpStream implements OutsideStream, Stream {
  /** DATA packets the relay will still take (its last CONTINUE, minus what we sent since). */
  private credit: number;
  private readonly queue: Uint8Array[] = [];
  private queued = 0;
  private flushScheduled = false;
  /** The stream is gone on the wire (either side closed it, or the connection dropped). */
  private closed = false;
  /** The guest sent its FIN: Wisp v1 has no half-close, so the stream stays open for the reply. */
  private ended = false;
  private paused = false;
  /** What arrived while paused (bytes), then perhaps how the stream ended; delivered in order on resume. */
  private readonly held: Array<Uint8Array | Ending> = [];
  readonly id: number;

  constructor(
    private readonly connection: Connection,
    private readonly sink: StreamSink,
    private readonly maxPacket: number,
    private readonly highWater: number,
  ) {
    this.credit = connection.initialCredit;
    this.id = connection.add(this);
  }

  get buffered(): number {
    return this.queued;
  }

  write(bytes: Uint8Array): void {
    if (this.closed || this.ended || bytes.length === 0) return;
    this.queue.push(bytes);
    this.queued += bytes.length;
    // Writes of one tick (the stack delivers segment by segment) go out as one DATA packet.
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
  }

  end(): void {
    this.ended = true;
  }

  abort(): void {
    if (this.closed) return;
    this.closed = true;
    this.dropQueue();
    this.held.length = 0;
    this.connection.remove(this.id, CLOSE_VOLUNTARY);
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    while (!this.paused && this.held.length > 0) {
      const next = this.held.shift();
      if (next instanceof Uint8Array) this.sink.data(next);
      else if (next) this.deliverEnding(next);
    }
  }

  /** A CONTINUE for this stream: the relay can take `remaining` more packets. */
  grant(remaining: number): void {
    this.credit = remaining;
    this.flush();
  }

  /** Sends queued bytes as far as the relay's credit and the WebSocket's buffer allow. */
  flush(): void {
    if (this.closed || this.queued === 0) return;
    const before = this.queued;
    while (this.queued > 0 && this.credit > 0) {
      if (this.connection.bufferedAmount > this.highWater) {
        this.connection.waitForSocket(this);
        break;
      }
      this.connection.send({ kind: "data", stream: this.id, data: this.take(Math.min(this.maxPacket, this.queued)) });
      this.credit--;
    }
    // The stack reopens the guest's window by what left the queue.
    if (this.queued < before) this.sink.drain();
  }

  receive(bytes: Uint8Array): void {
    if (this.closed) return;
    if (this.paused || this.held.length > 0) this.held.push(bytes);
    else this.sink.data(bytes);
  }

  finish(ending: Ending): void {
    if (this.closed) return;
    this.closed = true;
    this.dropQueue();
    if (this.paused || this.held.length > 0) this.held.push(ending);
    else this.deliverEnding(ending);
  }

  private deliverEnding(ending: Ending): void {
    if (ending.end) this.sink.end();
    else this.sink.error(ending.reason);
  }

  private dropQueue(): void {
    this.queue.length = 0;
    this.queued = 0;
  }

  /** Removes `n` bytes from the front of the queue as one array. */
  private take(n: number): Uint8Array {
    const first = this.queue[0];
    if (first && first.length === n) {
      this.queue.shift();
      this.queued -= n;
      return first;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const head = this.queue[0];
      if (!head) break;
      const part = Math.min(head.length, n - filled);
      out.set(head.subarray(0, part), filled);
      filled += part;
      if (part === head.length) this.queue.shift();
      else this.queue[0] = head.subarray(part);
    }
    this.queued -= filled;
    return out;
  }
}

/** A guest UDP flow as a Wisp stream: one DATA packet per datagram, no flow control (v1 has none for UDP). */
class UdpStream implements OutsideDatagrams, Stream {
  private closed = false;
  readonly id: number;

  constructor(
    private readonly connection: Connection,
    private readonly sink: DatagramSink,
    private readonly highWater: number,
  ) {
    this.id = connection.add(this);
  }

  send(bytes: Uint8Array): void {
    // A datagram the socket cannot take now is dropped, as a full queue would drop it.
    if (this.closed || bytes.length > MAX_DATAGRAM || this.connection.bufferedAmount > this.highWater) return;
    this.connection.send({ kind: "data", stream: this.id, data: bytes });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.connection.remove(this.id, CLOSE_VOLUNTARY);
  }

  receive(bytes: Uint8Array): void {
    if (!this.closed) this.sink.datagram(bytes);
  }

  finish(ending: Ending): void {
    if (this.closed) return;
    this.closed = true;
    this.sink.error(ending.end ? "closed by the relay" : ending.reason);
  }
}

/**
 * A Wisp v1 client: `tcp` and `udp` are the stack's connectors. One WebSocket carries every stream; it
 * opens on the first stream and again on demand after it closed.
 */
export class WispClient {
  bytesSent = 0;
  bytesReceived = 0;
  private connection: Connection | undefined;
  private lastError: string | undefined;
  /** Until when new streams fail at once after a failed open. */
  private retryAfter = 0;
  private streamId = 0;
  private readonly settings: Settings;

  constructor(private readonly options: WispClientOptions) {
    this.settings = {
      openTimeoutMs: options.openTimeoutMs ?? DEFAULT_OPEN_TIMEOUT_MS,
      retryDelayMs: options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS,
      maxPacketBytes: options.maxPacketBytes ?? DEFAULT_MAX_PACKET,
      socketHighWater: options.socketHighWater ?? DEFAULT_SOCKET_HIGH_WATER,
    };
  }

  /**
   * A TcpConnector: opens a TCP stream to `target.hostname ?? target.ip`. Wisp has no connect
   * acknowledgement, so this resolves once CONNECT is sent; a refusal arrives later as sink.error.
   */
  tcp = async (target: TcpTarget, sink: StreamSink): Promise<OutsideStream> => {
    const hostname = connectName(target);
    const connection = await this.open();
    const stream = new TcpStream(connection, sink, this.settings.maxPacketBytes, this.settings.socketHighWater);
    connection.send({ kind: "connect", stream: stream.id, streamType: STREAM_TCP, port: target.port, hostname });
    return stream;
  };

  /** A UdpConnector: opens a UDP stream to `target.hostname ?? target.ip`. */
  udp: UdpConnector = async (target, sink) => {
    const hostname = connectName(target);
    const connection = await this.open();
    const stream = new UdpStream(connection, sink, this.settings.socketHighWater);
    connection.send({ kind: "connect", stream: stream.id, streamType: STREAM_UDP, port: target.port, hostname });
    return stream;
  };

  status(): WispStatus {
    return {
      state: this.connection?.state ?? "closed",
      streams: this.connection?.streams.size ?? 0,
      ...(this.lastError ? { error: this.lastError } : {}),
      bytesSent: this.bytesSent,
      bytesReceived: this.bytesReceived,
    };
  }

  /** Closes the WebSocket; open streams end with an error. A later stream opens a new WebSocket. */
  close(): void {
    this.connection?.fail("relay client closed", false);
  }

  /** The current connection once usable, opening one if there is none. */
  private open(): Promise<Connection> {
    const current = this.connection;
    if (current && current.state !== "closed") return current.ready;
    if (Date.now() < this.retryAfter && this.lastError) return Promise.reject(new Error(this.lastError));
    const connection = new Connection(this, this.settings);
    this.connection = connection;
    connection.start(this.options.url, this.options.WebSocket);
    return connection.ready;
  }

  /** @internal The next stream id: never 0 (the connection itself), not reused within a client. */
  nextStreamId(): number {
    this.streamId = this.streamId >= 0xffffffff ? 1 : this.streamId + 1;
    return this.streamId;
  }

  /** @internal */
  connectionOpened(): void {
    this.lastError = undefined;
  }

  /** @internal The current connection failed (it opened earlier or not). */
  connectionFailed(reason: string, wasOpen: boolean): void {
    this.lastError = reason;
    if (!wasOpen) this.retryAfter = Date.now() + this.settings.retryDelayMs;
  }
}

/** The CONNECT host name for a target; throws on what no relay could take. */
function connectName(target: TcpTarget): string {
  const hostname = target.hostname ?? target.ip;
  if (!Number.isInteger(target.port) || target.port < 1 || target.port > 0xffff) throw new Error(`invalid port ${target.port}`);
  if (hostname.length === 0 || utf8.encode(hostname).length > 255) throw new Error(`invalid host name "${hostname}"`);
  return hostname;
}

/** A TcpConnector through a Wisp relay (a shorthand when only TCP is needed). */
export function wispConnector(client: WispClient | WispClientOptions): WispClient["tcp"] {
  return (client instanceof WispClient ? client : new WispClient(client)).tcp;
}

export interface DnsOverWispOptions {
  /** Give up on a query after this long. Default 5 s. */
  timeoutMs?: number;
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/**
 * A DnsResolver that sends each raw query over its own UDP stream (a fresh source port at the relay)
 * to `resolver` and returns the first reply with the query's ID.
 */
export function dnsOverWisp(udp: UdpConnector, resolver: { host: string; port?: number }, options: DnsOverWispOptions = {}): DnsResolver {
  const port = resolver.port ?? 53;
  const timeoutMs = options.timeoutMs ?? 5000;
  const target: TcpTarget = IPV4.test(resolver.host) ? { ip: resolver.host, port } : { ip: "0.0.0.0", port, hostname: resolver.host };
  return (query) =>
    new Promise<Uint8Array>((resolve, reject) => {
      const [hi, lo] = query;
      if (query.length < 12 || hi === undefined || lo === undefined) {
        reject(new Error("not a DNS query (shorter than its header)"));
        return;
      }
      let flow: OutsideDatagrams | undefined;
      let done = false;
      const finish = (error: Error | undefined, reply?: Uint8Array): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        flow?.close();
        if (reply) resolve(reply);
        else reject(error ?? new Error("no reply"));
      };
      const timer = setTimeout(() => finish(new Error(`no DNS reply from ${resolver.host}:${port} within ${timeoutMs} ms`)), timeoutMs);
      udp(target, {
        datagram: (bytes) => {
          // Same ID and the QR bit: a reply to this query, not a stray.
          if (bytes.length >= 12 && bytes[0] === hi && bytes[1] === lo && ((bytes[2] ?? 0) & 0x80) !== 0) finish(undefined, bytes);
        },
        error: (reason) => finish(new Error(`DNS via ${resolver.host}:${port}: ${reason}`)),
      }).then(
        (opened) => {
          if (done) {
            opened.close();
            return;
          }
          flow = opened;
          opened.send(query);
        },
        (err: unknown) => finish(err instanceof Error ? err : new Error(String(err))),
      );
    });
}
