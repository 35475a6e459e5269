// The dev server's Wisp relay on /wisp/: the guest's TCP and UDP reach the network through the developer's
// machine. wisp-js (@mercuryworkshop/wisp-js) runs the protocol; this file decides who may use it and where
// streams may go: only on a server bound to loopback, only same-origin pages, no private, link-local or
// (unless allowed) loopback destinations, and caps on WebSockets and streams.
import dns from "node:dns/promises";
import type { IncomingMessage } from "node:http";
import net from "node:net";
import type { Duplex } from "node:stream";
import { logging, server as wispJs, type WispServerSocket } from "@mercuryworkshop/wisp-js/server";
import type { Logger, Plugin } from "vite";
import { WebSocketServer, type RawData, type WebSocket } from "ws";
import { CLOSE_BLOCKED, CLOSE_INVALID_INFO, CLOSE_THROTTLED, CLOSE_UNREACHABLE, decodePacket, encodePacket, STREAM_TCP, STREAM_UDP, type WispPacket } from "../workers/net/wisp.ts";

export interface WispRelayOptions {
  /** The WebSocket path. Default "/wisp/". */
  path?: string;
  /** Destinations on this machine (127.0.0.0/8, ::1, 0.0.0.0), e.g. the guest's 10.0.2.2. Default false. */
  allowLoopback?: boolean;
  /** RFC 1918, link-local (169.254/16, cloud metadata), CGNAT and IPv6 ULA destinations. Default false. */
  allowPrivate?: boolean;
  /** UDP streams (the guest's DNS and other UDP). Default true. */
  allowUdp?: boolean;
  /** Streams open at once per WebSocket; more are refused with CLOSE 0x49. Default 64. */
  maxStreams?: number;
  /** WebSockets open at once per client address; more get HTTP 429. Default 16. */
  maxSockets?: number;
  /** Host names the page may be served as, besides localhost and loopback addresses (DNS rebinding guard). */
  allowedHosts?: readonly string[];
  /** Resolves a destination's name to addresses (default: the system resolver, IPv4 first). */
  lookup?: (hostname: string) => Promise<string[]>;
  /** Where refusals and problems are reported. Default console.warn. */
  log?: (line: string) => void;
}

export interface WispRelay {
  readonly path: string;
  /** WebSockets open now. */
  readonly sockets: number;
  /** Stops taking WebSockets and closes the open ones. */
  close(): void;
}

/** What the relay needs of an HTTP server (Node's http.Server, Vite's dev and preview servers). */
export interface UpgradeServer {
  on(event: "upgrade", listener: (req: IncomingMessage, socket: Duplex, head: Buffer) => void): unknown;
  off(event: "upgrade", listener: (req: IncomingMessage, socket: Duplex, head: Buffer) => void): unknown;
  once(event: "close", listener: () => void): unknown;
  address(): net.AddressInfo | string | null;
}

const DEFAULT_MAX_STREAMS = 64;
const DEFAULT_MAX_SOCKETS = 16;
/** Our client sends DATA of at most 64 KiB; other clients get some slack. */
const MAX_MESSAGE = 1024 * 1024;
/** Packets held for a stream while its destination is being checked; a v1 client sends at most its credit. */
const MAX_HELD = 1024;
/** Refusals logged per WebSocket: a guest's port scan must not flood the console. */
const MAX_LOGGED_REFUSALS = 10;

// ---- Where streams may go ----------------------------------------------------------------------------

export type AddressClass = "public" | "loopback" | "private" | "reserved";

/** An IPv4 or IPv6 literal as 4 or 16 bytes (a zone such as "%eth0" ignored); undefined if not one. */
function parseIp(text: string): number[] | undefined {
  const ip = text.replace(/%.*$/, "");
  const kind = net.isIP(ip);
  if (kind === 4) return ip.split(".").map(Number);
  if (kind !== 6) return undefined;
  // An embedded dotted quad ("::ffff:1.2.3.4") becomes two hex groups.
  const hex = ip.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_m, a: string, b: string, c: string, d: string) => `${((+a << 8) | +b).toString(16)}:${((+c << 8) | +d).toString(16)}`);
  const [left = "", right] = hex.split("::");
  const head = left ? left.split(":") : [];
  const tail = right === undefined ? [] : right ? right.split(":") : [];
  const groups = right === undefined ? head : [...head, ...Array<string>(8 - head.length - tail.length).fill("0"), ...tail];
  if (groups.length !== 8) return undefined;
  return groups.flatMap((group) => {
    const value = parseInt(group, 16);
    return [value >> 8, value & 0xff];
  });
}

function classify4([a = 0, b = 0, c = 0]: number[]): AddressClass {
  // 0.0.0.0/8 reaches this machine on Linux, like 127/8.
  if (a === 0 || a === 127) return "loopback";
  if (a >= 224) return "reserved"; // multicast, 240/4, broadcast
  if ((a === 192 && b === 0 && c === 2) || (a === 198 && b === 51 && c === 100) || (a === 203 && b === 0 && c === 113)) return "reserved"; // documentation
  if (a === 10 || (a === 172 && (b & 0xf0) === 16) || (a === 192 && b === 168)) return "private";
  if (a === 169 && b === 254) return "private"; // link-local, including cloud metadata at 169.254.169.254
  if (a === 100 && (b & 0xc0) === 64) return "private"; // carrier-grade NAT
  if (a === 192 && b === 0 && c === 0) return "private"; // IETF protocol assignments
  if (a === 198 && (b & 0xfe) === 18) return "private"; // benchmarking
  return "public";
}

function classify6(bytes: number[]): AddressClass {
  const zeros = (from: number, to: number): boolean => bytes.slice(from, to).every((b) => b === 0);
  const v4 = (at: number): number[] => bytes.slice(at, at + 4);
  const [b0 = 0, b1 = 0, b2 = 0, b3 = 0] = bytes;
  if (zeros(0, 15) && (bytes[15] === 0 || bytes[15] === 1)) return "loopback"; // :: and ::1
  if (zeros(0, 10) && bytes[10] === 0xff && bytes[11] === 0xff) return classify4(v4(12)); // IPv4-mapped
  if (zeros(0, 12)) return "reserved"; // IPv4-compatible (deprecated)
  if (b0 === 0x00 && b1 === 0x64 && b2 === 0xff && b3 === 0x9b) return zeros(4, 12) ? classify4(v4(12)) : "private"; // NAT64
  if (b0 === 0x20 && b1 === 0x02) return classify4(v4(2)); // 6to4
  if (b0 === 0x20 && b1 === 0x01 && ((b2 === 0 && b3 === 0) || (b2 === 0x0d && b3 === 0xb8))) return "reserved"; // Teredo, documentation
  if (b0 === 0x01 && b1 === 0x00 && zeros(2, 8)) return "reserved"; // discard prefix
  if ((b0 & 0xfe) === 0xfc || (b0 === 0xfe && (b1 & 0x80) === 0x80)) return "private"; // ULA, link-local and site-local
  if (b0 === 0xff) return "reserved"; // multicast
  return "public";
}

/** Which kind of address an IP literal is; undefined for anything else (a name). */
export function classifyAddress(ip: string): AddressClass | undefined {
  const bytes = parseIp(ip);
  if (!bytes) return undefined;
  return bytes.length === 4 ? classify4(bytes) : classify6(bytes);
}

export type Verdict = { ok: true; address: string } | { ok: false; reason: number; why: string };

/** The system resolver, IPv4 addresses first (the guest speaks IPv4; the machine may lack IPv6 routes). */
async function systemLookup(hostname: string): Promise<string[]> {
  const found = await dns.lookup(hostname, { all: true });
  return found.sort((x, y) => x.family - y.family).map((entry) => entry.address);
}

/**
 * Whether a stream may open, and the address to connect to: a name is resolved here and every address
 * it has must be allowed, and wisp-js then connects to the checked address (no second lookup to rebind).
 */
export async function checkDestination(options: WispRelayOptions, streamType: number, hostname: string, port: number): Promise<Verdict> {
  if (streamType !== STREAM_TCP && streamType !== STREAM_UDP) return { ok: false, reason: CLOSE_INVALID_INFO, why: `unknown stream type ${streamType}` };
  if (streamType === STREAM_UDP && options.allowUdp === false) return { ok: false, reason: CLOSE_BLOCKED, why: "UDP is off" };
  if (port === 0) return { ok: false, reason: CLOSE_INVALID_INFO, why: "port 0" };
  let name = hostname.trim().toLowerCase();
  if (name.startsWith("[") && name.endsWith("]")) name = name.slice(1, -1);
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (name.length === 0 || name.length > 253 || /[\s\x00-\x1f\x7f/\\@]/.test(name)) return { ok: false, reason: CLOSE_INVALID_INFO, why: `invalid host name ${JSON.stringify(hostname)}` };
  let addresses: string[];
  if (net.isIP(name.replace(/%.*$/, ""))) addresses = [name];
  else {
    try {
      addresses = await (options.lookup ?? systemLookup)(name);
    } catch (err) {
      return { ok: false, reason: CLOSE_UNREACHABLE, why: `${name} did not resolve (${err instanceof Error ? err.message : String(err)})` };
    }
  }
  const [first] = addresses;
  if (first === undefined) return { ok: false, reason: CLOSE_UNREACHABLE, why: `${name} has no address` };
  for (const address of addresses) {
    const kind = classifyAddress(address) ?? "reserved";
    const allowed = kind === "public" || (kind === "loopback" && options.allowLoopback === true) || (kind === "private" && options.allowPrivate === true);
    if (!allowed) {
      const hint = kind === "loopback" ? " (allowLoopback, UMLAB_WISP_ALLOW_LOOPBACK=1)" : kind === "private" ? " (allowPrivate, UMLAB_WISP_ALLOW_PRIVATE=1)" : "";
      return { ok: false, reason: CLOSE_BLOCKED, why: `${name === address ? address : `${name} (${address})`} is a ${kind} address${hint}` };
    }
  }
  return { ok: true, address: first };
}

// ---- Who may connect ---------------------------------------------------------------------------------

/** Whether the server listens on loopback only (not 0.0.0.0 or ::, which take the whole network). */
function boundToLoopback(address: net.AddressInfo | string | null): boolean {
  if (address === null) return false;
  if (typeof address === "string") return true; // a Unix socket or pipe
  return address.address !== "0.0.0.0" && address.address !== "::" && classifyAddress(address.address) === "loopback";
}

/** The host name of a Host header value ("127.0.0.1:5173", "[::1]:5173", "localhost"). */
function hostOf(host: string): string {
  const m = /^\[([^\]]+)\](?::\d+)?$/.exec(host) ?? /^([^:]+)(?::\d+)?$/.exec(host);
  return (m?.[1] ?? host).toLowerCase();
}

/** Why an upgrade is refused, or undefined to accept it: same-origin pages served under a loopback name only. */
function refuseOrigin(req: IncomingMessage, allowedHosts: readonly string[]): string | undefined {
  const host = req.headers.host;
  if (!host) return "no Host header";
  const name = hostOf(host);
  // A page at evil.example whose name rebinds to 127.0.0.1 would pass the Origin check below.
  if (!(name === "localhost" || name.endsWith(".localhost") || classifyAddress(name) === "loopback" || allowedHosts.includes(name))) return `Host ${host} is not a loopback name`;
  const origin = req.headers.origin;
  if (!origin) return "no Origin header (only pages of this server may use the relay)";
  let originHost: string;
  try {
    originHost = new URL(origin).host;
  } catch {
    return `malformed Origin ${origin}`;
  }
  if (originHost.toLowerCase() !== host.toLowerCase()) return `Origin ${origin} is not this server (${host})`;
  return undefined;
}

function refuseUpgrade(socket: Duplex, status: 403 | 429, message: string): void {
  const body = Buffer.from(`${message}\n`);
  const statusText = status === 403 ? "Forbidden" : "Too Many Requests";
  socket.end(`HTTP/1.1 ${status} ${statusText}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\n\r\n${body.toString()}`);
}

// ---- One WebSocket -----------------------------------------------------------------------------------

type Entry = { state: "checking"; held: ArrayBuffer[]; closing: boolean } | { state: "open" };

/**
 * The WebSocket as wisp-js sees it: client packets pass through only for streams whose CONNECT was
 * allowed (with the checked address in place of the name); stream counts follow both sides' CLOSEs.
 */
class FilteredSocket implements WispServerSocket {
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: ArrayBuffer }) => void) | null = null;
  onclose: (() => void) | null = null;
  readonly OPEN = 1;
  private readonly streams = new Map<number, Entry>();
  private closed = false;
  private refusals = 0;

  constructor(
    private readonly ws: WebSocket,
    private readonly options: WispRelayOptions,
    private readonly log: (line: string) => void,
    private readonly client: string,
  ) {
    ws.binaryType = "arraybuffer";
    ws.on("message", (data: RawData, isBinary: boolean) => {
      if (isBinary && data instanceof ArrayBuffer) this.fromClient(data);
    });
    ws.on("close", () => {
      this.closed = true;
      this.streams.clear();
      this.onclose?.();
    });
    // Without a listener, a socket error would throw from the EventEmitter.
    ws.on("error", (err) => this.log(`umlab wisp: WebSocket from ${client}: ${err.message}`));
  }

  get readyState(): number {
    return this.ws.readyState;
  }
  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }
  get openStreams(): number {
    return this.streams.size;
  }

  send(data: Uint8Array): void {
    // wisp-js closed a stream (its peer closed, or the connect failed): it no longer counts.
    if (data.length >= 5 && data[0] === 0x04) this.streams.delete(new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(1, true));
    if (this.ws.readyState === this.OPEN) this.ws.send(data);
  }
  close(code?: number, reason?: string): void {
    this.ws.close(code, reason);
  }
  ping(): void {
    if (this.ws.readyState === this.OPEN) this.ws.ping();
  }

  private toWispJs(data: ArrayBuffer): void {
    this.onmessage?.({ data });
  }

  private refuse(stream: number, reason: number, why: string): void {
    this.send(encodePacket({ kind: "close", stream, reason }));
    if (++this.refusals <= MAX_LOGGED_REFUSALS) this.log(`umlab wisp: refused a stream from ${this.client}: ${why}${this.refusals === MAX_LOGGED_REFUSALS ? " (further refusals on this WebSocket not logged)" : ""}`);
  }

  private fromClient(data: ArrayBuffer): void {
    let packet: WispPacket;
    try {
      packet = decodePacket(new Uint8Array(data));
    } catch {
      return; // wisp-js would only log it
    }
    if (packet.kind === "connect") {
      // Stream 0 is the connection itself; a reused id would orphan the first stream inside wisp-js.
      if (packet.stream === 0 || this.streams.has(packet.stream)) return;
      if (this.streams.size >= (this.options.maxStreams ?? DEFAULT_MAX_STREAMS)) {
        this.refuse(packet.stream, CLOSE_THROTTLED, `more than ${this.options.maxStreams ?? DEFAULT_MAX_STREAMS} streams open`);
        return;
      }
      this.streams.set(packet.stream, { state: "checking", held: [], closing: false });
      void this.admit(packet);
      return;
    }
    if (packet.kind === "continue" || packet.kind === "other") return; // not for a server
    const entry = this.streams.get(packet.stream);
    if (!entry) return;
    if (entry.state === "checking") {
      // Ordered after the CONNECT, which waits for its destination check.
      if (entry.held.length >= MAX_HELD) {
        this.streams.delete(packet.stream);
        this.refuse(packet.stream, CLOSE_THROTTLED, "too much data before the stream opened");
        return;
      }
      entry.held.push(data);
      return;
    }
    if (packet.kind === "close") this.streams.delete(packet.stream);
    this.toWispJs(data);
  }

  private async admit(packet: Extract<WispPacket, { kind: "connect" }>): Promise<void> {
    const verdict = await checkDestination(this.options, packet.streamType, packet.hostname, packet.port);
    const entry = this.streams.get(packet.stream);
    if (this.closed || entry?.state !== "checking") return;
    if (!verdict.ok) {
      this.streams.delete(packet.stream);
      this.refuse(packet.stream, verdict.reason, `${packet.streamType === STREAM_UDP ? "UDP" : "TCP"} ${packet.hostname}:${packet.port}: ${verdict.why}`);
      return;
    }
    this.streams.set(packet.stream, { state: "open" });
    this.toWispJs(encodePacket({ ...packet, hostname: verdict.address }).buffer);
    for (const held of entry.held) {
      if (new Uint8Array(held)[0] === 0x04) this.streams.delete(packet.stream);
      this.toWispJs(held);
    }
  }
}

// ---- Attaching ---------------------------------------------------------------------------------------

/**
 * Serves Wisp on `options.path` of `server`'s upgrades. Other paths are left to other listeners (Vite's
 * HMR socket). wisp-js's own filter is process-wide and misses IPv4-mapped IPv6 and ULA addresses, so it
 * is opened up here and this relay filters every CONNECT itself.
 */
export function attachWispRelay(server: UpgradeServer, options: WispRelayOptions = {}): WispRelay {
  const path = options.path ?? "/wisp/";
  const log = options.log ?? ((line: string) => console.warn(line));
  const maxSockets = options.maxSockets ?? DEFAULT_MAX_SOCKETS;
  wispJs.options.allow_loopback_ips = true;
  wispJs.options.allow_private_ips = true;
  logging.set_level(logging.ERROR);
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE, perMessageDeflate: false });
  const perAddress = new Map<string, number>();
  const open = new Set<WebSocket>();
  let warnedBind = false;

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    let pathname: string;
    try {
      pathname = new URL(req.url ?? "/", "http://relay").pathname;
    } catch {
      return;
    }
    if (pathname !== path) return;
    socket.on("error", () => undefined);
    if (!boundToLoopback(server.address())) {
      const address = server.address();
      if (!warnedBind) log(`umlab wisp: relay refused: the server listens on ${typeof address === "object" && address ? address.address : "?"}, not on loopback, so anyone who reaches it could use the relay. Listen on 127.0.0.1, or set UMLAB_WISP=0.`);
      warnedBind = true;
      refuseUpgrade(socket, 403, "Wisp relay: this server does not listen on loopback only");
      return;
    }
    const why = refuseOrigin(req, options.allowedHosts ?? []);
    if (why) {
      log(`umlab wisp: refused a WebSocket: ${why}`);
      refuseUpgrade(socket, 403, `Wisp relay: ${why}`);
      return;
    }
    const client = req.socket.remoteAddress ?? "?";
    const count = perAddress.get(client) ?? 0;
    if (count >= maxSockets) {
      log(`umlab wisp: refused a WebSocket from ${client}: ${maxSockets} already open`);
      refuseUpgrade(socket, 429, `Wisp relay: ${maxSockets} WebSockets already open from ${client}`);
      return;
    }
    perAddress.set(client, count + 1);
    // The raw socket always closes, whether or not the handshake completed.
    socket.once("close", () => {
      const left = (perAddress.get(client) ?? 1) - 1;
      if (left > 0) perAddress.set(client, left);
      else perAddress.delete(client);
    });
    wss.handleUpgrade(req, socket, head, (ws) => {
      open.add(ws);
      ws.once("close", () => open.delete(ws));
      const filtered = new FilteredSocket(ws, options, log, client);
      const connection = new wispJs.ServerConnection(filtered, path, { wisp_version: 1 });
      void (async () => {
        try {
          await connection.setup();
          await connection.run();
        } catch (err) {
          log(`umlab wisp: connection from ${client} failed: ${err instanceof Error ? err.message : String(err)}`);
          ws.close();
        }
      })();
    });
  };
  server.on("upgrade", onUpgrade);
  return {
    path,
    get sockets() {
      return open.size;
    },
    close() {
      server.off("upgrade", onUpgrade);
      for (const ws of open) ws.terminate();
      wss.close();
    },
  };
}

/** The relay's settings from the environment: undefined when UMLAB_WISP=0 turns it off. */
export function relayOptionsFromEnv(env: Record<string, string | undefined> = process.env): WispRelayOptions | undefined {
  if (env.UMLAB_WISP === "0") return undefined;
  const flag = (name: string): boolean | undefined => (env[name] === undefined || env[name] === "" ? undefined : env[name] === "1");
  const allowLoopback = flag("UMLAB_WISP_ALLOW_LOOPBACK");
  const allowPrivate = flag("UMLAB_WISP_ALLOW_PRIVATE");
  return { ...(allowLoopback === undefined ? {} : { allowLoopback }), ...(allowPrivate === undefined ? {} : { allowPrivate }) };
}

/**
 * Vite plugin: the Wisp relay on the dev and preview servers. Loopback destinations are allowed by
 * default here (the guest's 10.0.2.2 is the developer's machine); the environment overrides `options`.
 */
export function umlabWisp(options: WispRelayOptions = {}): Plugin {
  const attach = (httpServer: UpgradeServer | null, logger: Logger): void => {
    const fromEnv = relayOptionsFromEnv();
    if (!fromEnv) {
      logger.info("umlab: Wisp relay off (UMLAB_WISP=0)");
      return;
    }
    if (!httpServer) {
      logger.warn("umlab: Wisp relay off: no HTTP server (middleware mode)");
      return;
    }
    const relay = attachWispRelay(httpServer, { allowLoopback: true, log: (line) => logger.warn(line), ...options, ...fromEnv });
    // Vite restarts its server on config changes: the old relay goes with the old server.
    httpServer.once("close", () => relay.close());
  };
  return {
    name: "umlab-wisp",
    configureServer(server) {
      attach(server.httpServer, server.config.logger);
    },
    configurePreviewServer(server) {
      attach(server.httpServer, server.config.logger);
    },
  };
}
