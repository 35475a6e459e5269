// TCP NAT, slirp style: the stack terminates every guest connection itself and carries its byte stream
// to a transport (see transport.ts). One Connection per 4-tuple runs a compact RFC 793/5681 state
// machine: handshake with MSS and window scaling, in-order delivery with an out-of-order queue,
// retransmission with backoff, fast retransmit, a Reno congestion window (the guest's virtual NIC drops
// frames when its ring is full, so bursts must be paced), zero-window probes, FIN in both directions
// with half-close, RST, and backpressure both ways.
import type { OutsideStream, StreamSink, TcpConnector } from "./transport.ts";
import { PROTO_TCP } from "./ip.ts";
import { finishChecksum, ipToString, MalformedPacket, pseudoHeaderSum, sumWords, view, type Ipv4 } from "./wire.ts";

export const FIN = 0x01;
export const SYN = 0x02;
export const RST = 0x04;
export const PSH = 0x08;
export const ACK = 0x10;

export interface TcpSegment {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  /** The raw 16-bit window field (unscaled). */
  window: number;
  /** Options, only meaningful on SYN segments. */
  mss?: number;
  windowScale?: number;
  payload: Uint8Array;
}

export function parseTcp(bytes: Uint8Array, src: Ipv4, dst: Ipv4): TcpSegment {
  if (bytes.length < 20) throw new MalformedPacket(`TCP segment of ${bytes.length} bytes`);
  const v = view(bytes);
  const headerLength = (v.getUint8(12) >> 4) * 4;
  if (headerLength < 20 || headerLength > bytes.length) throw new MalformedPacket(`TCP header length ${headerLength}`);
  if (finishChecksum(sumWords(bytes, pseudoHeaderSum(src, dst, PROTO_TCP, bytes.length))) !== 0) throw new MalformedPacket("TCP checksum");
  const segment: TcpSegment = {
    srcPort: v.getUint16(0),
    dstPort: v.getUint16(2),
    seq: v.getUint32(4),
    ack: v.getUint32(8),
    flags: v.getUint8(13) & 0x3f,
    window: v.getUint16(14),
    payload: bytes.subarray(headerLength),
  };
  for (let i = 20; i < headerLength; ) {
    const kind = bytes[i] ?? 0;
    if (kind === 0) break;
    if (kind === 1) {
      i++;
      continue;
    }
    const length = bytes[i + 1] ?? 0;
    if (length < 2 || i + length > headerLength) throw new MalformedPacket(`TCP option ${kind} of length ${length}`);
    if (kind === 2 && length === 4) segment.mss = v.getUint16(i + 2);
    if (kind === 3 && length === 3) segment.windowScale = Math.min(14, bytes[i + 2] ?? 0);
    i += length;
  }
  return segment;
}

export function buildTcp(src: Ipv4, dst: Ipv4, segment: TcpSegment): Uint8Array {
  const options: number[] = [];
  if (segment.mss !== undefined) options.push(2, 4, segment.mss >> 8, segment.mss & 0xff);
  if (segment.windowScale !== undefined) options.push(1, 3, 3, segment.windowScale);
  const headerLength = 20 + options.length;
  const bytes = new Uint8Array(headerLength + segment.payload.length);
  const v = view(bytes);
  v.setUint16(0, segment.srcPort);
  v.setUint16(2, segment.dstPort);
  v.setUint32(4, segment.seq >>> 0);
  v.setUint32(8, segment.ack >>> 0);
  v.setUint8(12, (headerLength / 4) << 4);
  v.setUint8(13, segment.flags);
  v.setUint16(14, segment.window);
  bytes.set(options, 20);
  bytes.set(segment.payload, headerLength);
  v.setUint16(16, finishChecksum(sumWords(bytes, pseudoHeaderSum(src, dst, PROTO_TCP, bytes.length))));
  return bytes;
}

/** Sequence-space comparisons, modulo 2^32. */
const seqLt = (a: number, b: number): boolean => ((a - b) | 0) < 0;
const seqLe = (a: number, b: number): boolean => ((a - b) | 0) <= 0;
const seqAdd = (a: number, n: number): number => (a + n) >>> 0;
const seqDiff = (a: number, b: number): number => (a - b) | 0;

/** Our MSS at the guest's 1500-byte MTU. */
const OUR_MSS = 1460;
/** Bytes we accept from the guest beyond what the outside took (our receive window). */
const RECEIVE_BUFFER = 256 * 1024;
/** Our window scale: RECEIVE_BUFFER >> 3 fits the 16-bit field. */
const OUR_WINDOW_SCALE = 3;
/** Outside bytes queued toward the guest before the transport is paused, and where it resumes. */
const SEND_HIGH_WATER = 512 * 1024;
const SEND_LOW_WATER = 128 * 1024;
const MAX_OUT_OF_ORDER = 64;
const INITIAL_RTO_MS = 1000;
const MIN_RTO_MS = 200;
const MAX_RTO_MS = 8000;
const MAX_RETRIES = 10;
const CONNECT_TIMEOUT_MS = 20_000;
/** The guest is local, so start with a generous window (RFC 6928 uses 10 segments). */
const INITIAL_CWND_SEGMENTS = 10;

type State = "connecting" | "syn-sent" | "syn-received" | "established" | "closed";

export interface TcpCounters {
  /** Connections open now. */
  open: number;
  accepted: number;
  refused: number;
  resets: number;
  retransmits: number;
  /** Segments for no connection, answered with RST. */
  strays: number;
}

export interface TcpNatOptions {
  connector: TcpConnector;
  /** The name the guest looked up for an address through our DNS, if any. */
  nameOf?: (ip: Ipv4) => string | undefined;
  /** The address page-initiated connections come from (the gateway). */
  localIp: Ipv4;
  maxConnections?: number;
}

/** Sends one TCP segment to the guest (the stack adds IP and Ethernet). */
export type SegmentSender = (src: Ipv4, dst: Ipv4, segment: Uint8Array) => void;

export class TcpNat {
  readonly counters: TcpCounters = { open: 0, accepted: 0, refused: 0, resets: 0, retransmits: 0, strays: 0 };
  private readonly connections = new Map<string, Connection>();
  private nextLocalPort = 49152;

  constructor(
    private readonly send: SegmentSender,
    private readonly options: TcpNatOptions,
  ) {}

  get size(): number {
    return this.connections.size;
  }

  /** A TCP segment from the guest at `src` to `dst`. Throws MalformedPacket for a bad one. */
  receive(src: Ipv4, dst: Ipv4, bytes: Uint8Array): void {
    const segment = parseTcp(bytes, src, dst);
    const key = connectionKey(src, segment.srcPort, dst, segment.dstPort);
    const existing = this.connections.get(key);
    if (existing) {
      existing.receive(segment);
      return;
    }
    if ((segment.flags & (SYN | ACK | RST)) === SYN) {
      this.accept(key, src, dst, segment);
      return;
    }
    this.stray(src, dst, segment);
  }

  /**
   * Opens a connection to a server in the guest (a port forward): resolves with the sink that feeds it
   * once the guest accepted; rejects on RST or timeout. The guest's bytes go to `outside`.
   */
  connectToGuest(guestIp: Ipv4, guestPort: number, outside: OutsideStream): Promise<StreamSink> {
    if (this.connections.size >= (this.options.maxConnections ?? 512)) return Promise.reject(new Error("too many connections"));
    let localPort = this.nextLocalPort;
    while (this.connections.has(connectionKey(guestIp, guestPort, this.options.localIp, localPort))) localPort = localPort >= 65535 ? 49152 : localPort + 1;
    this.nextLocalPort = localPort >= 65535 ? 49152 : localPort + 1;
    const key = connectionKey(guestIp, guestPort, this.options.localIp, localPort);
    return new Promise((resolve, reject) => {
      const connection = new Connection(this, key, guestIp, guestPort, this.options.localIp, localPort);
      this.add(connection);
      connection.openActive(outside, resolve, reject);
    });
  }

  /** Ends every connection with a RST (the machine stops). */
  resetAll(): void {
    for (const connection of [...this.connections.values()]) connection.reset("the network stopped");
  }

  private accept(key: string, src: Ipv4, dst: Ipv4, syn: TcpSegment): void {
    if (this.connections.size >= (this.options.maxConnections ?? 512)) {
      this.counters.refused++;
      this.emit(dst, src, { srcPort: syn.dstPort, dstPort: syn.srcPort, seq: 0, ack: seqAdd(syn.seq, 1), flags: RST | ACK, window: 0, payload: EMPTY });
      return;
    }
    const connection = new Connection(this, key, src, syn.srcPort, dst, syn.dstPort);
    this.add(connection);
    const hostname = this.options.nameOf?.(dst);
    connection.openPassive(syn, (sink) => this.options.connector({ ip: ipToString(dst), port: syn.dstPort, ...(hostname ? { hostname } : {}) }, sink));
  }

  private add(connection: Connection): void {
    this.connections.set(connection.key, connection);
    this.counters.open = this.connections.size;
  }

  /** @internal */
  remove(connection: Connection): void {
    this.connections.delete(connection.key);
    this.counters.open = this.connections.size;
  }

  private stray(src: Ipv4, dst: Ipv4, segment: TcpSegment): void {
    if (segment.flags & RST) return;
    this.counters.strays++;
    const length = segment.payload.length + (segment.flags & SYN ? 1 : 0) + (segment.flags & FIN ? 1 : 0);
    if (segment.flags & ACK) this.emit(dst, src, { srcPort: segment.dstPort, dstPort: segment.srcPort, seq: segment.ack, ack: 0, flags: RST, window: 0, payload: EMPTY });
    else this.emit(dst, src, { srcPort: segment.dstPort, dstPort: segment.srcPort, seq: 0, ack: seqAdd(segment.seq, length), flags: RST | ACK, window: 0, payload: EMPTY });
  }

  /** @internal */
  emit(src: Ipv4, dst: Ipv4, segment: TcpSegment): void {
    this.send(src, dst, buildTcp(src, dst, segment));
  }
}

const EMPTY = new Uint8Array(0);
const connectionKey = (guestIp: Ipv4, guestPort: number, remoteIp: Ipv4, remotePort: number): string => `${guestIp}:${guestPort}>${remoteIp}:${remotePort}`;

/** Bytes queued toward the guest, from the oldest unacknowledged one. */
class ByteQueue {
  private chunks: Uint8Array[] = [];
  length = 0;

  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.chunks.push(bytes);
    this.length += bytes.length;
  }

  /** A copy of up to `n` bytes starting `offset` bytes in. */
  peek(offset: number, n: number): Uint8Array {
    const out = new Uint8Array(Math.max(0, Math.min(n, this.length - offset)));
    let skip = offset;
    let filled = 0;
    for (const chunk of this.chunks) {
      if (filled === out.length) break;
      if (skip >= chunk.length) {
        skip -= chunk.length;
        continue;
      }
      const part = chunk.subarray(skip, skip + out.length - filled);
      out.set(part, filled);
      filled += part.length;
      skip = 0;
    }
    return out;
  }

  drop(n: number): void {
    let left = Math.min(n, this.length);
    this.length -= left;
    while (left > 0) {
      const first = this.chunks[0];
      if (!first) break;
      if (first.length <= left) {
        this.chunks.shift();
        left -= first.length;
      } else {
        this.chunks[0] = first.subarray(left);
        left = 0;
      }
    }
  }
}

class Connection {
  private state: State = "connecting";
  private outside: OutsideStream | undefined;
  private readonly toGuest = new ByteQueue();
  // Our sequence space (toward the guest).
  private readonly iss = (Math.random() * 0x100000000) >>> 0;
  private sndUna = this.iss;
  private sndNxt = this.iss;
  /** The highest sequence number sent; after a timeout sndNxt goes back to sndUna, this stays. */
  private sndMax = this.iss;
  private sndWnd = 0;
  private sndWindowScale = 0;
  private rcvWindowScale = 0;
  private mss = 536;
  private finQueued = false;
  /** Our FIN's sequence number, once sent. */
  private finSeq: number | undefined;
  private finAcked = false;
  // The guest's sequence space.
  private irs = 0;
  private rcvNxt = 0;
  private readonly outOfOrder = new Map<number, { bytes: Uint8Array; fin: boolean }>();
  private guestFin = false;
  private lastAdvertised = 0;
  // Loss recovery and congestion control.
  private rto = INITIAL_RTO_MS;
  private retries = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private dupAcks = 0;
  private cwnd = INITIAL_CWND_SEGMENTS * 536;
  private ssthresh = 0x7fffffff;
  private outsidePaused = false;
  private onEstablished: ((sink: StreamSink) => void) | undefined;
  private onRefused: ((error: Error) => void) | undefined;

  constructor(
    private readonly nat: TcpNat,
    readonly key: string,
    private readonly guestIp: Ipv4,
    private readonly guestPort: number,
    private readonly remoteIp: Ipv4,
    private readonly remotePort: number,
  ) {}

  /** The sink a transport (or a port forward) uses to feed this connection. */
  private readonly sink: StreamSink = {
    data: (bytes) => {
      if (this.state === "closed" || this.finQueued) return;
      this.toGuest.push(bytes);
      if (this.toGuest.length > SEND_HIGH_WATER && !this.outsidePaused) {
        this.outsidePaused = true;
        this.outside?.pause();
      }
      this.transmit();
    },
    end: () => {
      if (this.state === "closed") return;
      this.finQueued = true;
      this.transmit();
    },
    error: (reason) => this.reset(reason),
    drain: () => this.windowUpdate(),
  };

  openPassive(syn: TcpSegment, connect: (sink: StreamSink) => Promise<OutsideStream>): void {
    this.takeSynOptions(syn);
    this.irs = syn.seq;
    this.rcvNxt = seqAdd(syn.seq, 1);
    this.sndWnd = syn.window; // a SYN's window is never scaled
    // Answer the SYN only once the outside accepted, so "refused" reaches the guest as a RST.
    this.arm(CONNECT_TIMEOUT_MS);
    connect(this.sink).then(
      (outside) => {
        if (this.state !== "connecting") {
          outside.abort();
          return;
        }
        this.outside = outside;
        this.nat.counters.accepted++;
        this.state = "syn-received";
        this.sndNxt = this.sndMax = seqAdd(this.iss, 1);
        this.sendSynAck();
        this.arm(this.rto);
      },
      () => {
        if (this.state !== "connecting") return;
        this.nat.counters.refused++;
        this.emit(RST | ACK, EMPTY, 0);
        this.close();
      },
    );
  }

  openActive(outside: OutsideStream, resolve: (sink: StreamSink) => void, reject: (error: Error) => void): void {
    this.outside = outside;
    this.state = "syn-sent";
    this.onEstablished = resolve;
    this.onRefused = reject;
    this.sndNxt = this.sndMax = seqAdd(this.iss, 1);
    this.rcvWindowScale = OUR_WINDOW_SCALE;
    this.sendSyn();
    this.arm(this.rto);
  }

  receive(segment: TcpSegment): void {
    if (this.state === "closed") return;
    if (this.state === "syn-sent") {
      this.receiveSynSent(segment);
      return;
    }
    if (segment.flags & RST) {
      // Only a RST inside the window may end the connection (RFC 5961's blind-reset rule, simplified).
      const inWindow = this.state === "connecting" ? segment.seq === this.rcvNxt : seqLe(this.rcvNxt, segment.seq) && seqLt(segment.seq, seqAdd(this.rcvNxt, Math.max(1, this.window())));
      if (inWindow) {
        this.nat.counters.resets++;
        this.outside?.abort();
        this.close();
      }
      return;
    }
    if (segment.flags & SYN) {
      // A retransmitted SYN: the SYN-ACK was lost, or the outside has not answered yet.
      if (segment.seq === this.irs && this.state === "syn-received") this.sendSynAck();
      else if (segment.seq !== this.irs) this.emit(ACK, EMPTY, this.sndNxt);
      return;
    }
    if (this.state === "connecting" || !(segment.flags & ACK)) return;
    if (!this.receiveAck(segment)) return;
    this.receiveData(segment);
    this.transmit();
    this.closeIfDone();
  }

  private receiveSynSent(segment: TcpSegment): void {
    const ackOk = (segment.flags & ACK) !== 0 && segment.ack === this.sndNxt;
    if (segment.flags & RST) {
      if (ackOk) this.refuse("connection refused by the guest");
      return;
    }
    if ((segment.flags & SYN) === 0 || !ackOk) return;
    this.takeSynOptions(segment);
    if (segment.windowScale === undefined) this.rcvWindowScale = 0;
    this.irs = segment.seq;
    this.rcvNxt = seqAdd(segment.seq, 1);
    this.sndUna = segment.ack;
    this.sndWnd = segment.window;
    this.established();
    this.emit(ACK, EMPTY, this.sndNxt);
    this.transmit();
  }

  private established(): void {
    this.state = "established";
    this.retries = 0;
    this.rto = INITIAL_RTO_MS;
    this.disarm();
    this.cwnd = INITIAL_CWND_SEGMENTS * this.mss;
    const resolve = this.onEstablished;
    this.onEstablished = this.onRefused = undefined;
    resolve?.(this.sink);
  }

  private takeSynOptions(syn: TcpSegment): void {
    this.mss = Math.max(64, Math.min(syn.mss ?? 536, OUR_MSS));
    if (syn.windowScale !== undefined) {
      this.sndWindowScale = syn.windowScale;
      this.rcvWindowScale = OUR_WINDOW_SCALE;
    }
  }

  /** Processes the ACK field; false if the segment must be dropped. */
  private receiveAck(segment: TcpSegment): boolean {
    if (this.state === "syn-received") {
      if (segment.ack !== seqAdd(this.iss, 1)) {
        this.nat.emit(this.remoteIp, this.guestIp, { srcPort: this.remotePort, dstPort: this.guestPort, seq: segment.ack, ack: 0, flags: RST, window: 0, payload: EMPTY });
        return false;
      }
      this.sndUna = segment.ack;
      this.established();
    }
    if (seqLt(this.sndMax, segment.ack)) {
      // It acknowledges what we never sent.
      this.emit(ACK, EMPTY, this.sndNxt);
      return false;
    }
    const window = segment.window << this.sndWindowScale;
    const acked = seqDiff(segment.ack, this.sndUna);
    if (acked > 0) {
      let dataAcked = acked;
      if (this.finSeq !== undefined && !this.finAcked && seqLt(this.finSeq, segment.ack)) {
        this.finAcked = true;
        dataAcked--;
      }
      this.toGuest.drop(dataAcked);
      this.sndUna = segment.ack;
      // After a go-back the guest may acknowledge segments it had kept from before.
      if (seqLt(this.sndNxt, segment.ack)) this.sndNxt = segment.ack;
      this.dupAcks = 0;
      this.retries = 0;
      this.rto = Math.max(MIN_RTO_MS, Math.min(this.rto, INITIAL_RTO_MS));
      // Reno: exponential growth below ssthresh, about one segment per round trip above it.
      this.cwnd += this.cwnd < this.ssthresh ? Math.min(dataAcked, this.mss) : Math.max(1, Math.floor((this.mss * this.mss) / this.cwnd));
      if (this.sndUna === this.sndNxt) this.disarm();
      else this.arm(this.rto);
      if (this.outsidePaused && this.toGuest.length < SEND_LOW_WATER) {
        this.outsidePaused = false;
        this.outside?.resume();
      }
    } else if (acked === 0 && segment.payload.length === 0 && !(segment.flags & FIN) && window === this.sndWnd && this.sndUna !== this.sndNxt) {
      if (++this.dupAcks === 3) this.fastRetransmit();
    }
    this.sndWnd = window;
    return true;
  }

  private receiveData(segment: TcpSegment): void {
    let seq = segment.seq;
    let bytes = segment.payload;
    let fin = (segment.flags & FIN) !== 0;
    if (bytes.length === 0 && !fin) return;
    if (this.guestFin) {
      // Everything up to the FIN is in; a retransmission needs only our ACK again.
      this.emit(ACK, EMPTY, this.sndNxt);
      return;
    }
    const behind = seqDiff(this.rcvNxt, seq);
    if (behind > 0) {
      // Partly or wholly old: keep only what is new.
      if (behind >= bytes.length + (fin ? 1 : 0)) {
        this.emit(ACK, EMPTY, this.sndNxt);
        return;
      }
      bytes = bytes.subarray(Math.min(behind, bytes.length));
      seq = this.rcvNxt;
    }
    if (seq !== this.rcvNxt) {
      if (seqDiff(seq, this.rcvNxt) < RECEIVE_BUFFER && this.outOfOrder.size < MAX_OUT_OF_ORDER && !this.outOfOrder.has(seq)) this.outOfOrder.set(seq, { bytes: bytes.slice(), fin });
      this.emit(ACK, EMPTY, this.sndNxt); // a duplicate ACK tells the guest what is missing
      return;
    }
    this.deliver(bytes, fin);
    // Drain the out-of-order queue now that the gap may be filled.
    for (let progressed = true; progressed && !this.guestFin; ) {
      progressed = false;
      for (const [start, held] of this.outOfOrder) {
        const overlap = seqDiff(this.rcvNxt, start);
        if (overlap < 0) continue;
        this.outOfOrder.delete(start);
        if (overlap < held.bytes.length || (held.fin && overlap === held.bytes.length)) {
          this.deliver(held.bytes.subarray(overlap), held.fin);
          progressed = true;
        }
        break;
      }
    }
    fin = this.guestFin;
    if (fin) this.outOfOrder.clear();
    this.emit(ACK, EMPTY, this.sndNxt);
  }

  private deliver(bytes: Uint8Array, fin: boolean): void {
    if (bytes.length > 0) {
      this.rcvNxt = seqAdd(this.rcvNxt, bytes.length);
      this.outside?.write(bytes.slice());
    }
    if (fin) {
      this.rcvNxt = seqAdd(this.rcvNxt, 1);
      this.guestFin = true;
      this.outside?.end();
    }
  }

  /** Our receive window: what the outside has not yet taken counts against it. */
  private window(): number {
    let held = 0;
    for (const { bytes } of this.outOfOrder.values()) held += bytes.length;
    return Math.max(0, RECEIVE_BUFFER - (this.outside?.buffered ?? 0) - held);
  }

  private windowUpdate(): void {
    if (this.state !== "established" || this.guestFin) return;
    // Tell the guest only if the window opened noticeably since we last said (silly window avoidance).
    if (Math.min(this.window(), 0xffff << this.rcvWindowScale) - this.lastAdvertised >= Math.min(RECEIVE_BUFFER / 2, 2 * this.mss)) this.emit(ACK, EMPTY, this.sndNxt);
  }

  /** Sends what the guest's window and the congestion window allow, then the FIN when due. */
  private transmit(): void {
    if (this.state !== "established") return;
    for (;;) {
      const inFlight = seqDiff(this.sndNxt, this.sndUna);
      const finInFlight = this.finSeq !== undefined && seqLe(this.sndUna, this.finSeq) && seqLt(this.finSeq, this.sndNxt);
      const offset = inFlight - (finInFlight ? 1 : 0);
      const unsent = this.toGuest.length - offset;
      const room = Math.min(this.sndWnd, this.cwnd) - inFlight;
      if (unsent > 0 && room > 0) {
        const payload = this.toGuest.peek(offset, Math.min(unsent, this.mss, room));
        this.emit(ACK | (payload.length === unsent ? PSH : 0), payload, this.sndNxt);
        this.advance(payload.length);
        continue;
      }
      if (unsent <= 0 && this.finQueued && !finInFlight && !this.finAcked) {
        this.finSeq = this.sndNxt;
        this.emit(FIN | ACK, EMPTY, this.sndNxt);
        this.advance(1);
        continue;
      }
      // A zero window with nothing in flight: probe it, or we would wait forever for an update.
      if (unsent > 0 && inFlight === 0 && this.sndWnd === 0 && !this.timer) this.arm(this.rto);
      return;
    }
  }

  private advance(n: number): void {
    this.sndNxt = seqAdd(this.sndNxt, n);
    if (seqLt(this.sndMax, this.sndNxt)) this.sndMax = this.sndNxt;
    if (!this.timer) this.arm(this.rto);
  }

  private fastRetransmit(): void {
    const inFlight = seqDiff(this.sndNxt, this.sndUna);
    this.ssthresh = Math.max(Math.floor(inFlight / 2), 2 * this.mss);
    this.cwnd = this.ssthresh;
    this.resendOldest();
  }

  /** The segment at sndUna again, without moving sndNxt. */
  private resendOldest(): void {
    this.nat.counters.retransmits++;
    const payload = this.toGuest.peek(0, this.mss);
    const fin = this.finSeq !== undefined && this.finSeq === seqAdd(this.sndUna, payload.length);
    this.emit(ACK | (fin ? FIN : 0), payload, this.sndUna);
  }

  private onTimer(): void {
    this.timer = undefined;
    if (this.state === "connecting") {
      // The outside never answered: the guest gets "connection refused" rather than a hang.
      this.nat.counters.refused++;
      this.emit(RST | ACK, EMPTY, 0);
      this.close();
      return;
    }
    const zeroWindowProbe = this.state === "established" && this.sndWnd === 0;
    if (!zeroWindowProbe && ++this.retries > MAX_RETRIES) {
      if (this.state === "syn-sent") this.refuse("the guest did not answer");
      else this.reset("the guest stopped answering");
      return;
    }
    this.rto = Math.min(this.rto * 2, MAX_RTO_MS);
    if (this.state === "syn-sent") this.sendSyn();
    else if (this.state === "syn-received") this.sendSynAck();
    else if (zeroWindowProbe) this.probe();
    else {
      // Loss (often a whole burst the guest's NIC ring dropped): one segment of window, and go back to
      // the oldest unacknowledged byte so slow start resends the rest.
      this.nat.counters.retransmits++;
      this.ssthresh = Math.max(Math.floor(seqDiff(this.sndNxt, this.sndUna) / 2), 2 * this.mss);
      this.cwnd = this.mss;
      this.sndNxt = this.sndUna;
      this.transmit();
    }
    this.arm(this.rto);
  }

  /** A zero-window probe: an old sequence number, which the guest answers with an ACK and its window. */
  private probe(): void {
    this.emit(ACK, EMPTY, seqAdd(this.sndUna, -1));
  }

  private sendSyn(): void {
    this.nat.emit(this.remoteIp, this.guestIp, { srcPort: this.remotePort, dstPort: this.guestPort, seq: this.iss, ack: 0, flags: SYN, window: 0xffff, mss: OUR_MSS, windowScale: OUR_WINDOW_SCALE, payload: EMPTY });
  }

  private sendSynAck(): void {
    const window = Math.min(this.window(), 0xffff); // the SYN-ACK's window is never scaled
    this.nat.emit(this.remoteIp, this.guestIp, { srcPort: this.remotePort, dstPort: this.guestPort, seq: this.iss, ack: this.rcvNxt, flags: SYN | ACK, window, mss: OUR_MSS, ...(this.rcvWindowScale ? { windowScale: this.rcvWindowScale } : {}), payload: EMPTY });
  }

  private emit(flags: number, payload: Uint8Array, seq: number): void {
    const window = Math.min(this.window() >> this.rcvWindowScale, 0xffff);
    this.lastAdvertised = window << this.rcvWindowScale;
    this.nat.emit(this.remoteIp, this.guestIp, { srcPort: this.remotePort, dstPort: this.guestPort, seq, ack: flags & RST && !(flags & ACK) ? 0 : this.rcvNxt, flags, window, payload });
  }

  private closeIfDone(): void {
    if (this.guestFin && this.finAcked) this.close();
  }

  private refuse(reason: string): void {
    const reject = this.onRefused;
    this.onEstablished = this.onRefused = undefined;
    this.close();
    reject?.(new Error(reason));
  }

  /** Ends the connection with a RST to the guest and an abort outside. */
  reset(reason: string): void {
    if (this.state === "closed") return;
    if (this.state === "syn-sent") {
      this.emit(RST, EMPTY, this.sndNxt);
      this.refuse(reason);
      return;
    }
    if (this.state !== "connecting") this.emit(RST | ACK, EMPTY, this.sndNxt);
    this.outside?.abort();
    this.close();
  }

  private close(): void {
    this.state = "closed";
    this.disarm();
    this.nat.remove(this);
  }

  private arm(ms: number): void {
    this.disarm();
    this.timer = setTimeout(() => this.onTimer(), ms);
  }

  private disarm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
