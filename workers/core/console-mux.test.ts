import { describe, expect, it } from "vitest";
import { ConsoleMux, encodeFrame, FrameDecoder, FrameType, MAX_FRAME_PAYLOAD } from "./console-mux.ts";

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
};

interface Recorded {
  sent: Uint8Array[];
  events: string[];
  errors: string[];
  mux: ConsoleMux;
}

function recorder(): Recorded {
  const sent: Uint8Array[] = [];
  const events: string[] = [];
  const errors: string[] = [];
  const decoder = new TextDecoder();
  const mux = new ConsoleMux((bytes) => sent.push(bytes), {
    open: (ch, title) => events.push(`open ${ch} ${title}`),
    data: (ch, bytes) => events.push(`data ${ch} ${decoder.decode(bytes)}`),
    close: (ch) => events.push(`close ${ch}`),
    error: (message) => errors.push(message),
  });
  return { sent, events, errors, mux };
}

describe("frames", () => {
  it("encodes the 5-byte little-endian header", () => {
    expect([...encodeFrame(FrameType.data, 0x0102, text("hi"))]).toEqual([2, 0x02, 0x01, 2, 0, 0x68, 0x69]);
    expect([...encodeFrame(FrameType.list, 0)]).toEqual([5, 0, 0, 0, 0]);
    expect(() => encodeFrame(FrameType.data, 1, new Uint8Array(MAX_FRAME_PAYLOAD + 1))).toThrow(RangeError);
    expect(() => encodeFrame(FrameType.data, 0x10000)).toThrow(RangeError);
  });

  it("decodes the same frames whatever the chunk boundaries", () => {
    const stream = concat(
      encodeFrame(FrameType.open, 1, text("Virtual Console #2")),
      encodeFrame(FrameType.data, 1, new Uint8Array(MAX_FRAME_PAYLOAD).fill(0x61)),
      encodeFrame(FrameType.close, 1),
      encodeFrame(FrameType.data, 7, text("x")),
    );
    const whole = new FrameDecoder([1, 2, 3]).push(stream);
    expect(whole.map((f) => [f.type, f.channel, f.payload.length])).toEqual([[1, 1, 18], [2, 1, 4096], [3, 1, 0], [2, 7, 1]]);
    for (const size of [1, 2, 4, 5, 6, 7, 1000, 4100]) {
      const decoder = new FrameDecoder([1, 2, 3]);
      const frames = [];
      for (let pos = 0; pos < stream.length; pos += size) frames.push(...decoder.push(stream.subarray(pos, pos + size)));
      expect(frames).toEqual(whole);
      expect(decoder.pending).toBe(0);
    }
  });

  it("drops its buffer on an unknown type or an oversized length, then decodes what follows", () => {
    const errors: string[] = [];
    const decoder = new FrameDecoder([1, 2, 3], (m) => errors.push(m));
    expect(decoder.push(concat(encodeFrame(FrameType.data, 1, text("ok")), new Uint8Array([9, 1, 0, 3, 0]), text("junk")))).toHaveLength(1);
    expect(decoder.push(new Uint8Array([2, 1, 0, 0xff, 0xff]))).toEqual([]);
    expect(errors).toEqual([expect.stringContaining("type 9"), expect.stringContaining("length 65535")]);
    expect(decoder.pending).toBe(0);
    expect(decoder.push(encodeFrame(FrameType.close, 4))).toEqual([{ type: 3, channel: 4, payload: new Uint8Array(0) }]);
  });
});

describe("ConsoleMux", () => {
  it("reports opens, data and closes, in order, across merged and split chunks", () => {
    const { mux, events } = recorder();
    const stream = concat(
      encodeFrame(FrameType.open, 1, text("Virtual Console #2 (umid) ✓")),
      encodeFrame(FrameType.data, 1, text("login: ")),
      encodeFrame(FrameType.open, 2, text("Serial Line #1")),
      encodeFrame(FrameType.data, 2, text("hello")),
      encodeFrame(FrameType.close, 1),
    );
    mux.receive(stream.subarray(0, 3));
    mux.receive(stream.subarray(3, 40));
    mux.receive(stream.subarray(40));
    expect(events).toEqual(["open 1 Virtual Console #2 (umid) ✓", "data 1 login: ", "open 2 Serial Line #1", "data 2 hello", "close 1"]);
    expect([...mux.channels]).toEqual([[2, "Serial Line #1"]]);
  });

  it("answers a LIST reply without reopening known channels, and drops output for unknown ones", () => {
    const { mux, events } = recorder();
    mux.receive(encodeFrame(FrameType.data, 3, text("before the OPEN")));
    mux.receive(concat(encodeFrame(FrameType.open, 3, text("a")), encodeFrame(FrameType.open, 3, text("a")), encodeFrame(FrameType.open, 5, text("b"))));
    mux.receive(encodeFrame(FrameType.close, 9));
    expect(events).toEqual(["open 3 a", "open 5 b"]);
  });

  it("encodes input (split at 4096 bytes), resize, list and close", () => {
    const { mux, sent } = recorder();
    mux.write(2, new Uint8Array(MAX_FRAME_PAYLOAD * 2 + 10).fill(0x62));
    expect(sent.map((f) => [f[0], f[1], f[2], (f[3] ?? 0) | ((f[4] ?? 0) << 8)])).toEqual([[2, 2, 0, 4096], [2, 2, 0, 4096], [2, 2, 0, 10]]);
    sent.length = 0;
    mux.write(2, new Uint8Array(0));
    mux.resize(0x0201, 100, 30);
    mux.list();
    mux.close(7);
    expect(sent.map((f) => [...f])).toEqual([
      [4, 0x01, 0x02, 4, 0, 100, 0, 30, 0],
      [5, 0, 0, 0, 0],
      [3, 7, 0, 0, 0],
    ]);
  });

  it("reports a stream that lost its framing, then carries on", () => {
    const { mux, events, errors } = recorder();
    mux.receive(new Uint8Array([4, 0, 0, 0, 0]));
    mux.receive(encodeFrame(FrameType.open, 1, text("t")));
    expect(errors).toHaveLength(1);
    expect(events).toEqual(["open 1 t"]);
  });
});
