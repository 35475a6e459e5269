// The worker's side of umlab-mux (images/console-mux/) on the host: every console UML opens with its
// xterm channel (conN=xterm, sslN=xterm, mconsole `config con3=xterm`) arrives as a channel of one byte
// stream, so the page can show each one as a terminal tab.
//
// Frames, both directions: type u8, channel u16 LE, length u16 LE, then `length` payload bytes (≤ 4096).
//   host → worker: OPEN (payload: UTF-8 title), DATA (console output), CLOSE (the console went away)
//   worker → host: DATA (input), RESIZE (cols u16 LE, rows u16 LE), LIST (channel 0: the host answers
//                  with an OPEN for every live channel), CLOSE (close that console)

export const FrameType = { open: 1, data: 2, close: 3, resize: 4, list: 5 } as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

export const FRAME_HEADER_SIZE = 5;
export const MAX_FRAME_PAYLOAD = 4096;

export interface Frame {
  type: number;
  channel: number;
  payload: Uint8Array;
}

const EMPTY = new Uint8Array(0);

/** One frame as bytes; the payload must fit one frame. */
export function encodeFrame(type: FrameType, channel: number, payload: Uint8Array = EMPTY): Uint8Array {
  if (!Number.isInteger(channel) || channel < 0 || channel > 0xffff) throw new RangeError(`channel ${channel} is not a u16`);
  if (payload.length > MAX_FRAME_PAYLOAD) throw new RangeError(`a frame carries at most ${MAX_FRAME_PAYLOAD} bytes, not ${payload.length}`);
  const frame = new Uint8Array(FRAME_HEADER_SIZE + payload.length);
  frame[0] = type;
  frame[1] = channel & 0xff;
  frame[2] = channel >> 8;
  frame[3] = payload.length & 0xff;
  frame[4] = payload.length >> 8;
  frame.set(payload, FRAME_HEADER_SIZE);
  return frame;
}

/**
 * Turns a byte stream cut anywhere into frames. A header with a type outside `accept` or a length over
 * 4096 means the stream lost its framing: the decoder reports it and drops everything it has buffered,
 * like umlab-mux does in the other direction.
 */
export class FrameDecoder {
  private buffer = EMPTY;

  constructor(
    private readonly accept: readonly number[],
    private readonly onError: (message: string) => void = () => undefined,
  ) {}

  /** Bytes buffered towards the next frame. */
  get pending(): number {
    return this.buffer.length;
  }

  push(bytes: Uint8Array): Frame[] {
    let buf = bytes;
    if (this.buffer.length > 0) {
      buf = new Uint8Array(this.buffer.length + bytes.length);
      buf.set(this.buffer);
      buf.set(bytes, this.buffer.length);
    }
    const frames: Frame[] = [];
    let pos = 0;
    while (buf.length - pos >= FRAME_HEADER_SIZE) {
      const type = buf[pos] ?? 0;
      const channel = (buf[pos + 1] ?? 0) | ((buf[pos + 2] ?? 0) << 8);
      const length = (buf[pos + 3] ?? 0) | ((buf[pos + 4] ?? 0) << 8);
      if (!this.accept.includes(type) || length > MAX_FRAME_PAYLOAD) {
        this.onError(`bad frame (type ${type}, length ${length}); dropped ${buf.length - pos} buffered bytes`);
        pos = buf.length;
        break;
      }
      if (buf.length - pos < FRAME_HEADER_SIZE + length) break;
      // A copy, so a consumer may keep or transfer it.
      frames.push({ type, channel, payload: buf.slice(pos + FRAME_HEADER_SIZE, pos + FRAME_HEADER_SIZE + length) });
      pos += FRAME_HEADER_SIZE + length;
    }
    this.buffer = pos === buf.length ? EMPTY : buf.slice(pos);
    return frames;
  }

  /** Forgets a partial frame, e.g. after a restore. */
  reset(): void {
    this.buffer = EMPTY;
  }
}

export interface ConsoleMuxEvents {
  /** A console appeared (or, after `list()`, one the worker did not know yet). */
  open(channel: number, title: string): void;
  data(channel: number, bytes: Uint8Array): void;
  /** The console went away: UML closed it, or the host confirms a `close()`. */
  close(channel: number): void;
  /** The host's stream lost its framing; buffered bytes were dropped. */
  error?(message: string): void;
}

/**
 * The consoles multiplexed on the host's console-mux port. Output for a channel the worker has not seen
 * an OPEN for is dropped (after a restore, call `list()`: the host answers with an OPEN per console).
 */
export class ConsoleMux {
  private readonly live = new Map<number, string>();
  private readonly decoder: FrameDecoder;
  private readonly titles = new TextDecoder();

  constructor(
    private readonly send: (bytes: Uint8Array) => void,
    private readonly events: ConsoleMuxEvents,
  ) {
    this.decoder = new FrameDecoder([FrameType.open, FrameType.data, FrameType.close], (message) => this.events.error?.(message));
  }

  /** Live channels and their titles. */
  get channels(): ReadonlyMap<number, string> {
    return this.live;
  }

  /** Feed the bytes the host wrote on the mux's port. */
  receive(bytes: Uint8Array): void {
    for (const frame of this.decoder.push(bytes)) {
      const { channel, payload } = frame;
      if (frame.type === FrameType.open) {
        const known = this.live.has(channel);
        this.live.set(channel, this.titles.decode(payload));
        if (!known) this.events.open(channel, this.live.get(channel) ?? "");
      } else if (frame.type === FrameType.data) {
        if (this.live.has(channel)) this.events.data(channel, payload);
      } else if (this.live.delete(channel)) {
        this.events.close(channel);
      }
    }
  }

  /** Input for a console, split into frames of at most 4096 bytes. */
  write(channel: number, bytes: Uint8Array): void {
    for (let pos = 0; pos < bytes.length; pos += MAX_FRAME_PAYLOAD) {
      this.send(encodeFrame(FrameType.data, channel, bytes.subarray(pos, pos + MAX_FRAME_PAYLOAD)));
    }
  }

  /** Sets the console's window size; UML's winch thread passes it on to the console's tty. */
  resize(channel: number, cols: number, rows: number): void {
    const payload = new Uint8Array(4);
    const view = new DataView(payload.buffer);
    view.setUint16(0, clampU16(cols), true);
    view.setUint16(2, clampU16(rows), true);
    this.send(encodeFrame(FrameType.resize, channel, payload));
  }

  /** Asks the host for an OPEN per live console, e.g. after a v86 state restore. */
  list(): void {
    this.send(encodeFrame(FrameType.list, 0));
  }

  /** Closes the console's pty on the host: UML sees a hangup and closes the console; CLOSE follows. */
  close(channel: number): void {
    this.send(encodeFrame(FrameType.close, channel));
  }
}

function clampU16(n: number): number {
  return Math.max(0, Math.min(0xffff, Math.trunc(n)));
}
