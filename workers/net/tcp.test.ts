import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { concatBytes } from "./http1.ts";
import { ACK, buildTcp, FIN, parseTcp, PSH, RST, SYN, TcpNat, type TcpSegment } from "./tcp.ts";
import type { OutsideStream, StreamSink, TcpTarget } from "./transport.ts";
import { MalformedPacket, parseIp } from "./wire.ts";

const guest = parseIp("10.0.2.15");
const server = parseIp("93.184.215.14");
const gateway = parseIp("10.0.2.2");
const GUEST_PORT = 40000;

/** The outside end of one connection, as a transport would see it. */
class Outside implements OutsideStream {
  received: Uint8Array[] = [];
  ended = false;
  aborted = false;
  paused = false;
  buffered = 0;
  constructor(readonly sink: StreamSink) {}
  write(bytes: Uint8Array): void {
    this.received.push(bytes);
  }
  end(): void {
    this.ended = true;
  }
  abort(): void {
    this.aborted = true;
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  text(): string {
    return new TextDecoder().decode(concatBytes(this.received));
  }
}


const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const pattern = (n: number, seed = 7): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

/** A scripted guest: builds its segments by hand and reads the NAT's replies. */
class Harness {
  readonly nat: TcpNat;
  readonly replies: TcpSegment[] = [];
  readonly outsides: Outside[] = [];
  readonly targets: TcpTarget[] = [];
  accept: "yes" | "no" | "never" = "yes";
  seq = 1000;
  port = GUEST_PORT;

  constructor() {
    this.nat = new TcpNat(
      (src, dst, segment) => {
        expect(src === server || src === gateway).toBe(true);
        expect(dst).toBe(guest);
        this.replies.push(parseTcp(segment, src, dst));
      },
      {
        localIp: gateway,
        maxConnections: 8,
        nameOf: (ip) => (ip === server ? "example.test" : undefined),
        connector: (target, sink) => {
          this.targets.push(target);
          if (this.accept === "no") return Promise.reject(new Error("refused"));
          if (this.accept === "never") return new Promise(() => {});
          const outside = new Outside(sink);
          this.outsides.push(outside);
          return Promise.resolve(outside);
        },
      },
    );
  }

  get outside(): Outside {
    const o = this.outsides.at(-1);
    if (!o) throw new Error("no outside stream");
    return o;
  }

  send(flags: number, payload: Uint8Array = new Uint8Array(), options: Partial<TcpSegment> = {}): void {
    const segment: TcpSegment = { srcPort: this.port, dstPort: 80, seq: this.seq, ack: this.ackNo, flags, window: 0xffff, payload, ...options };
    this.nat.receive(guest, server, buildTcp(guest, server, segment));
  }

  /** The next sequence number we expect from the NAT (what we acknowledge). */
  ackNo = 0;

  take(): TcpSegment[] {
    return this.replies.splice(0);
  }

  /** Completes a handshake with the given options; returns the SYN-ACK. */
  async connect(options: Partial<TcpSegment> = { mss: 1000, windowScale: 2 }): Promise<TcpSegment> {
    this.send(SYN, undefined, options);
    await flush();
    const [synAck] = this.take();
    if (!synAck) throw new Error("no SYN-ACK");
    expect(synAck.flags).toBe(SYN | ACK);
    expect(synAck.ack).toBe(this.seq + 1);
    this.seq++;
    this.ackNo = (synAck.seq + 1) >>> 0;
    this.send(ACK);
    return synAck;
  }

  /** Data segments from the NAT, acknowledged cumulatively; returns the payload bytes. */
  receiveAll(window = 0xffff): Uint8Array {
    const parts: Uint8Array[] = [];
    for (let rounds = 0; rounds < 10_000; rounds++) {
      const batch = this.take().filter((s) => s.payload.length > 0 || s.flags & FIN);
      if (batch.length === 0) break;
      for (const s of batch) {
        if (s.seq !== this.ackNo) continue;
        parts.push(s.payload);
        this.ackNo = (this.ackNo + s.payload.length + (s.flags & FIN ? 1 : 0)) >>> 0;
      }
      this.send(ACK, undefined, { window });
    }
    return concatBytes(parts);
  }
}

const flush = (): Promise<void> => new Promise((resolve) => queueMicrotask(resolve));

describe("TCP codec", () => {
  it("round-trips a segment with options and checks the checksum", () => {
    const segment: TcpSegment = { srcPort: 1234, dstPort: 80, seq: 0xfffffff0, ack: 5, flags: SYN | ACK, window: 4096, mss: 1460, windowScale: 3, payload: bytes("hi") };
    const wire = buildTcp(guest, server, segment);
    expect(parseTcp(wire, guest, server)).toEqual(segment);
    wire[wire.length - 1] = (wire[wire.length - 1] ?? 0) ^ 1;
    expect(() => parseTcp(wire, guest, server)).toThrow(MalformedPacket);
  });

  it("refuses truncated headers and options that overrun the header", () => {
    expect(() => parseTcp(new Uint8Array(19), guest, server)).toThrow(MalformedPacket);
    const wire = buildTcp(guest, server, { srcPort: 1, dstPort: 2, seq: 0, ack: 0, flags: SYN, window: 0, mss: 1460, payload: new Uint8Array() });
    wire[21] = 40; // the MSS option claims 40 bytes in a 24-byte header
    expect(() => parseTcp(wire, guest, server)).toThrow(MalformedPacket);
  });
});

describe("TCP NAT", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("answers a SYN only after the outside accepted, with our MSS and window scale", async () => {
    const h = new Harness();
    const synAck = await h.connect();
    expect(h.targets).toEqual([{ ip: "93.184.215.14", port: 80, hostname: "example.test" }]);
    expect(synAck.mss).toBe(1460);
    expect(synAck.windowScale).toBe(3);
    expect(h.nat.counters).toMatchObject({ open: 1, accepted: 1 });
  });

  it("leaves window scaling out when the guest did not offer it", async () => {
    const h = new Harness();
    const synAck = await h.connect({ mss: 1460 });
    expect(synAck.windowScale).toBeUndefined();
    h.outside.sink.data(pattern(3000));
    const sent = h.take();
    expect(sent.every((s) => s.window <= 0xffff)).toBe(true);
    expect(sent.map((s) => s.payload.length)).toEqual([1460, 1460, 80]);
  });

  it("refuses with RST when the outside refuses, and when it never answers", async () => {
    const h = new Harness();
    h.accept = "no";
    h.send(SYN);
    await flush();
    const [rst] = h.take();
    expect(rst?.flags).toBe(RST | ACK);
    expect(rst?.ack).toBe(h.seq + 1);
    expect(h.nat.size).toBe(0);

    h.accept = "never";
    h.port++;
    h.send(SYN);
    await vi.advanceTimersByTimeAsync(19_000);
    expect(h.take()).toEqual([]);
    await vi.advanceTimersByTimeAsync(2000);
    expect(h.take()[0]?.flags).toBe(RST | ACK);
    expect(h.nat.counters.refused).toBe(2);
    expect(h.nat.size).toBe(0);
  });

  it("delivers guest bytes in order through reordering and duplicates", async () => {
    const h = new Harness();
    await h.connect();
    const data = pattern(4000);
    const parts = [data.subarray(0, 1000), data.subarray(1000, 2000), data.subarray(2000, 3000), data.subarray(3000)];
    const at = (i: number): number => h.seq + i * 1000;
    // Arrival order 0, 2, 2 (duplicate), 3, 1, 0 (old duplicate).
    for (const i of [0, 2, 2, 3, 1, 0]) h.send(ACK, parts[i], { seq: at(i) });
    expect(h.outside.received.length).toBeGreaterThan(0);
    expect(concatBytes(h.outside.received)).toEqual(data);
    const acks = h.take().map((s) => s.ack - h.seq);
    // Duplicate ACKs at 1000 while the gap is open, then everything.
    expect(acks).toEqual([1000, 1000, 1000, 1000, 4000, 4000]);
  });

  it("keeps only the new part of an overlapping segment", async () => {
    const h = new Harness();
    await h.connect();
    const data = pattern(300);
    h.send(ACK | PSH, data.subarray(0, 200));
    h.send(ACK | PSH, data.subarray(100, 300), { seq: h.seq + 100 });
    expect(concatBytes(h.outside.received)).toEqual(data);
  });

  it("segments outside bytes by the guest's MSS and recovers a lost segment by fast retransmit", async () => {
    const h = new Harness();
    await h.connect();
    const data = pattern(5000);
    h.outside.sink.data(data);
    const sent = h.take();
    expect(sent.map((s) => s.payload.length)).toEqual([1000, 1000, 1000, 1000, 1000]);
    const first = sent[0];
    if (!first) throw new Error("nothing sent");
    // The second segment is lost: the first is acknowledged, then three duplicate ACKs.
    h.ackNo = first.seq + 1000;
    for (let i = 0; i < 4; i++) h.send(ACK);
    const resent = h.take();
    expect(resent).toHaveLength(1);
    expect(resent[0]?.seq).toBe(first.seq + 1000);
    expect(resent[0]?.payload).toEqual(data.subarray(1000, 2000));
    h.ackNo = first.seq + 5000;
    h.send(ACK);
    expect(h.nat.counters.retransmits).toBe(1);
  });

  it("retransmits on timeout with backoff, going back to the oldest byte", async () => {
    const h = new Harness();
    await h.connect();
    const data = pattern(3000);
    h.outside.sink.data(data);
    expect(h.take()).toHaveLength(3); // all lost
    await vi.advanceTimersByTimeAsync(1000);
    const again = h.take();
    expect(again).toHaveLength(1); // one segment of window after a timeout
    expect(again[0]?.payload).toEqual(data.subarray(0, 1000));
    await vi.advanceTimersByTimeAsync(1999);
    expect(h.take()).toHaveLength(0); // backed off to 2 s
    await vi.advanceTimersByTimeAsync(1);
    expect(h.replies).toHaveLength(1);
    expect(h.receiveAll()).toEqual(data);
  });

  it("resets a connection whose guest stops answering", async () => {
    const h = new Harness();
    await h.connect();
    h.outside.sink.data(pattern(10));
    await vi.advanceTimersByTimeAsync(120_000);
    expect(h.outside.aborted).toBe(true);
    expect(h.take().at(-1)?.flags).toBe(RST | ACK);
    expect(h.nat.size).toBe(0);
  });

  it("waits on a zero window, probes it, and resumes when it opens", async () => {
    const h = new Harness();
    await h.connect({ mss: 1000 }); // no window scaling: the window field is in bytes
    h.send(ACK, undefined, { window: 0 });
    h.outside.sink.data(pattern(2500));
    expect(h.take()).toEqual([]);
    await vi.advanceTimersByTimeAsync(1000);
    const [probe] = h.take();
    // An old sequence number and no data: the guest must answer with its window.
    expect(probe).toMatchObject({ seq: h.ackNo - 1, payload: new Uint8Array() });
    // The guest still has no room: it acknowledges nothing new and keeps the window shut.
    h.send(ACK, undefined, { window: 0 });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(h.outside.aborted).toBe(false); // a closed window is not a dead peer
    h.take();
    h.send(ACK, undefined, { window: 8000 });
    expect(h.receiveAll(8000)).toEqual(pattern(2500));
  });

  it("half-closes both ways: the guest's FIN ends the outside's input, the outside still answers", async () => {
    const h = new Harness();
    await h.connect();
    h.send(ACK | PSH | FIN, bytes("GET / HTTP/1.0\r\n\r\n"));
    expect(h.outside.text()).toBe("GET / HTTP/1.0\r\n\r\n");
    expect(h.outside.ended).toBe(true);
    expect(h.take().at(-1)?.ack).toBe(h.seq + 18 + 1);
    h.seq += 19;
    h.outside.sink.data(bytes("HTTP/1.0 200 OK\r\n\r\nhello"));
    h.outside.sink.end();
    const segments = h.take();
    expect(segments.at(-1)?.flags).toBe(FIN | ACK);
    h.replies.push(...segments);
    expect(new TextDecoder().decode(h.receiveAll())).toBe("HTTP/1.0 200 OK\r\n\r\nhello");
    expect(h.nat.size).toBe(0); // both FINs acknowledged
  });

  it("sends its FIN after queued data and retransmits a lost FIN", async () => {
    const h = new Harness();
    await h.connect();
    h.outside.sink.data(bytes("bye"));
    h.outside.sink.end();
    const [data, fin] = h.take();
    expect(data?.payload).toEqual(bytes("bye"));
    expect(fin?.flags).toBe(FIN | ACK);
    h.ackNo = (data?.seq ?? 0) + 3;
    h.send(ACK); // the data arrived, the FIN did not
    await vi.advanceTimersByTimeAsync(1000);
    expect(h.take()[0]?.flags).toBe(FIN | ACK);
    h.ackNo += 1;
    h.send(ACK | FIN);
    expect(h.nat.size).toBe(0);
  });

  it("ends on the guest's RST inside the window and ignores one outside it", async () => {
    const h = new Harness();
    await h.connect();
    h.send(RST, undefined, { seq: h.seq + 10_000_000 });
    expect(h.outside.aborted).toBe(false);
    h.send(RST);
    expect(h.outside.aborted).toBe(true);
    expect(h.nat.size).toBe(0);
    expect(h.nat.counters.resets).toBe(1);
  });

  it("resets the guest when the outside fails", async () => {
    const h = new Harness();
    await h.connect();
    h.outside.sink.error("relay closed");
    expect(h.take()[0]?.flags).toBe(RST | ACK);
    expect(h.nat.size).toBe(0);
  });

  it("answers segments for no connection with RST, and RSTs with nothing", () => {
    const h = new Harness();
    h.send(ACK, bytes("stray"), { ack: 777 });
    expect(h.take()[0]).toMatchObject({ flags: RST, seq: 777 });
    h.send(FIN);
    expect(h.take()[0]).toMatchObject({ flags: RST | ACK, ack: h.seq + 1 });
    h.send(RST);
    expect(h.take()).toEqual([]);
    expect(h.nat.counters.strays).toBe(2);
  });

  it("shrinks the window while the outside is slow, and reopens it when the outside drains", async () => {
    const h = new Harness();
    await h.connect({ mss: 1460, windowScale: 0 });
    h.outside.buffered = 256 * 1024;
    h.send(ACK, bytes("x"));
    const [ack] = h.take();
    expect(ack?.window).toBe(0);
    h.outside.buffered = 0;
    h.outside.sink.drain();
    const [update] = h.take();
    expect(update?.window).toBe((256 * 1024) >> 3); // the full buffer, in units of our window scale
  });

  it("pauses the outside while the guest lags, and resumes it as the guest catches up", async () => {
    const h = new Harness();
    await h.connect();
    for (let i = 0; i < 600; i++) h.outside.sink.data(pattern(1000, i));
    expect(h.outside.paused).toBe(true);
    const received = h.receiveAll();
    expect(h.outside.paused).toBe(false);
    expect(received.length).toBe(600_000);
    expect(received.subarray(599_000)).toEqual(pattern(1000, 599));
  });

  it("caps connections: a SYN flood gets RSTs and the table drains", async () => {
    const h = new Harness();
    h.accept = "never";
    for (let i = 0; i < 1000; i++) {
      h.port = 1024 + i;
      h.send(SYN);
    }
    expect(h.nat.size).toBe(8);
    expect(h.take().filter((s) => s.flags === (RST | ACK))).toHaveLength(992);
    await vi.advanceTimersByTimeAsync(21_000);
    expect(h.nat.size).toBe(0);
    expect(h.take().filter((s) => s.flags === (RST | ACK))).toHaveLength(8);
    h.accept = "yes";
    h.port = 5000;
    await h.connect();
    h.send(ACK | PSH, bytes("still works"));
    expect(h.outside.text()).toBe("still works");
  });

  it("opens a connection to a server in the guest (a port forward)", async () => {
    const h = new Harness();
    const received: Uint8Array[] = [];
    const toPage: OutsideStream = { write: (b) => received.push(b), end: () => {}, abort: () => {}, buffered: 0, pause: () => {}, resume: () => {} };
    const opened = h.nat.connectToGuest(guest, 80, toPage);
    const syn = h.replies.shift();
    if (!syn) throw new Error("no SYN");
    expect(syn.flags).toBe(SYN);
    expect(syn.dstPort).toBe(80);
    // The guest's server answers SYN-ACK; it comes from the guest's port 80 to the gateway's port.
    const synAck = buildTcp(guest, gateway, { srcPort: 80, dstPort: syn.srcPort, seq: 5000, ack: syn.seq + 1, flags: SYN | ACK, window: 1000, mss: 1460, payload: new Uint8Array() });
    h.nat.receive(guest, gateway, synAck);
    const sink = await opened;
    expect(h.take()[0]).toMatchObject({ flags: ACK, ack: 5001 });
    sink.data(bytes("GET / HTTP/1.0\r\n\r\n"));
    expect(h.take()[0]?.payload).toEqual(bytes("GET / HTTP/1.0\r\n\r\n"));
    h.nat.receive(guest, gateway, buildTcp(guest, gateway, { srcPort: 80, dstPort: syn.srcPort, seq: 5001, ack: syn.seq + 19, flags: ACK | PSH, window: 1000, payload: bytes("hi") }));
    expect(new TextDecoder().decode(concatBytes(received))).toBe("hi");

    // A closed port: the guest answers RST and the open fails.
    h.take();
    const refused = h.nat.connectToGuest(guest, 81, toPage);
    const syn2 = h.replies.shift();
    if (!syn2) throw new Error("no SYN");
    h.nat.receive(guest, gateway, buildTcp(guest, gateway, { srcPort: 81, dstPort: syn2.srcPort, seq: 0, ack: syn2.seq + 1, flags: RST | ACK, window: 0, payload: new Uint8Array() }));
    await expect(refused).rejects.toThrow(/refused/);
  });
});
