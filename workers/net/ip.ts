// IPv4 (RFC 791), ICMP echo (RFC 792) and UDP (RFC 768).
import { finishChecksum, internetChecksum, MalformedPacket, pseudoHeaderSum, sumWords, view, type Ipv4 } from "./wire.ts";

export const PROTO_ICMP = 1;
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;

export interface Ipv4Packet {
  src: Ipv4;
  dst: Ipv4;
  protocol: number;
  ttl: number;
  id: number;
  /** True for any piece of a fragmented datagram (MF set or a non-zero offset). */
  fragment: boolean;
  payload: Uint8Array;
}

export function parseIpv4(bytes: Uint8Array): Ipv4Packet {
  if (bytes.length < 20) throw new MalformedPacket(`IPv4 packet of ${bytes.length} bytes`);
  const first = bytes[0] ?? 0;
  const headerLength = (first & 0x0f) * 4;
  if (first >> 4 !== 4 || headerLength < 20) throw new MalformedPacket(`not an IPv4 header (first byte ${first})`);
  const v = view(bytes);
  const totalLength = v.getUint16(2);
  // Ethernet pads short frames, so the buffer may be longer than the packet, never shorter.
  if (totalLength < headerLength || totalLength > bytes.length) throw new MalformedPacket(`IPv4 total length ${totalLength} with ${bytes.length} bytes`);
  if (internetChecksum(bytes.subarray(0, headerLength)) !== 0) throw new MalformedPacket("IPv4 header checksum");
  const flagsOffset = v.getUint16(6);
  return {
    src: v.getUint32(12),
    dst: v.getUint32(16),
    protocol: bytes[9] ?? 0,
    ttl: bytes[8] ?? 0,
    id: v.getUint16(4),
    fragment: (flagsOffset & 0x2000) !== 0 || (flagsOffset & 0x1fff) !== 0,
    payload: bytes.subarray(headerLength, totalLength),
  };
}

let nextId = 1;

export function buildIpv4(src: Ipv4, dst: Ipv4, protocol: number, payload: Uint8Array, ttl = 64): Uint8Array {
  const bytes = new Uint8Array(20 + payload.length);
  const v = view(bytes);
  bytes[0] = 0x45;
  v.setUint16(2, bytes.length);
  v.setUint16(4, nextId);
  nextId = (nextId + 1) & 0xffff;
  v.setUint16(6, 0x4000); // don't fragment: nothing here ever splits a datagram
  bytes[8] = ttl;
  bytes[9] = protocol;
  v.setUint32(12, src);
  v.setUint32(16, dst);
  v.setUint16(10, internetChecksum(bytes.subarray(0, 20)));
  bytes.set(payload, 20);
  return bytes;
}

export const ICMP_ECHO_REPLY = 0;
export const ICMP_ECHO_REQUEST = 8;

export interface IcmpMessage {
  type: number;
  code: number;
  /** Everything after the type, code and checksum: for echo, identifier, sequence number and data. */
  body: Uint8Array;
}

export function parseIcmp(bytes: Uint8Array): IcmpMessage {
  if (bytes.length < 8) throw new MalformedPacket(`ICMP message of ${bytes.length} bytes`);
  if (internetChecksum(bytes) !== 0) throw new MalformedPacket("ICMP checksum");
  return { type: bytes[0] ?? 0, code: bytes[1] ?? 0, body: bytes.subarray(4) };
}

export function buildIcmp(type: number, code: number, body: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(4 + body.length);
  bytes[0] = type;
  bytes[1] = code;
  bytes.set(body, 4);
  view(bytes).setUint16(2, internetChecksum(bytes));
  return bytes;
}

export interface UdpDatagram {
  srcPort: number;
  dstPort: number;
  payload: Uint8Array;
}

export function parseUdp(bytes: Uint8Array, src: Ipv4, dst: Ipv4): UdpDatagram {
  if (bytes.length < 8) throw new MalformedPacket(`UDP datagram of ${bytes.length} bytes`);
  const v = view(bytes);
  const length = v.getUint16(4);
  if (length < 8 || length > bytes.length) throw new MalformedPacket(`UDP length ${length} with ${bytes.length} bytes`);
  const datagram = bytes.subarray(0, length);
  // A zero checksum means the sender computed none (allowed over IPv4).
  if (v.getUint16(6) !== 0 && finishChecksum(sumWords(datagram, pseudoHeaderSum(src, dst, PROTO_UDP, length))) !== 0) {
    throw new MalformedPacket("UDP checksum");
  }
  return { srcPort: v.getUint16(0), dstPort: v.getUint16(2), payload: datagram.subarray(8) };
}

export function buildUdp(src: Ipv4, dst: Ipv4, srcPort: number, dstPort: number, payload: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(8 + payload.length);
  const v = view(bytes);
  v.setUint16(0, srcPort);
  v.setUint16(2, dstPort);
  v.setUint16(4, bytes.length);
  bytes.set(payload, 8);
  // A computed 0 is sent as 0xffff, since 0 means "no checksum".
  v.setUint16(6, finishChecksum(sumWords(bytes, pseudoHeaderSum(src, dst, PROTO_UDP, bytes.length))) || 0xffff);
  return bytes;
}
