// Byte-level helpers shared by the protocol codecs: addresses, big-endian fields and the Internet checksum.

/** An IPv4 address as an unsigned 32-bit number (10.0.2.2 is 0x0a000202). */
export type Ipv4 = number;
/** A 6-byte MAC address. */
export type Mac = Uint8Array;

export const BROADCAST_MAC: Mac = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
export const BROADCAST_IP: Ipv4 = 0xffffffff;

/** A frame or packet too short or inconsistent to parse; the stack drops it and counts why. */
export class MalformedPacket extends Error {}

export function parseIp(text: string): Ipv4 {
  const parts = text.split(".");
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) throw new Error(`not an IPv4 address: ${text}`);
  return parts.reduce((ip, p) => ip * 256 + Number(p), 0);
}

export const ipToString = (ip: Ipv4): string => [ip >>> 24, (ip >>> 16) & 255, (ip >>> 8) & 255, ip & 255].join(".");

export function parseMac(text: string): Mac {
  const parts = text.split(":");
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) throw new Error(`not a MAC address: ${text}`);
  return new Uint8Array(parts.map((p) => parseInt(p, 16)));
}

export const macToString = (mac: Mac): string => Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join(":");

export const macEquals = (a: Mac, b: Mac): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

export const view = (bytes: Uint8Array): DataView => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** Sums 16-bit big-endian words into a running one's complement sum (not yet folded). */
export function sumWords(bytes: Uint8Array, initial = 0): number {
  let sum = initial;
  const n = bytes.length & ~1;
  for (let i = 0; i < n; i += 2) sum += ((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0);
  if (bytes.length & 1) sum += (bytes[bytes.length - 1] ?? 0) << 8;
  return sum;
}

/** The Internet checksum (RFC 1071) of a running sum: fold the carries, take the complement. */
export function finishChecksum(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return ~s & 0xffff;
}

export const internetChecksum = (bytes: Uint8Array): number => finishChecksum(sumWords(bytes));

/** The TCP/UDP pseudo-header's contribution to a checksum. */
export const pseudoHeaderSum = (src: Ipv4, dst: Ipv4, protocol: number, length: number): number =>
  (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + protocol + length;
