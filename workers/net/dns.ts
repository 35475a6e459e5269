// DNS messages (RFC 1035): enough to read queries and to answer A queries from a hosts table.
import { MalformedPacket, view, type Ipv4 } from "./wire.ts";

export const DNS_PORT = 53;
export const TYPE_A = 1;
export const TYPE_AAAA = 28;
export const CLASS_IN = 1;
export const RCODE_OK = 0;
export const RCODE_FORMERR = 1;
export const RCODE_SERVFAIL = 2;
export const RCODE_NXDOMAIN = 3;
export const RCODE_NOTIMP = 4;

export interface DnsQuestion {
  /** Lower-case, without the trailing dot. */
  name: string;
  type: number;
  class: number;
}

export interface DnsQuery {
  id: number;
  flags: number;
  questions: DnsQuestion[];
}

const MAX_POINTERS = 16;

/** Reads a possibly compressed name at `at`; returns it and the offset after it in the message. */
function readName(bytes: Uint8Array, start: number): { name: string; next: number } {
  const labels: string[] = [];
  let at = start;
  let next: number | undefined;
  let pointers = 0;
  for (;;) {
    const length = bytes[at];
    if (length === undefined) throw new MalformedPacket("DNS name runs past the message");
    if (length === 0) {
      next ??= at + 1;
      break;
    }
    if ((length & 0xc0) === 0xc0) {
      const low = bytes[at + 1];
      if (low === undefined || ++pointers > MAX_POINTERS) throw new MalformedPacket("DNS name pointer loop or truncation");
      next ??= at + 2;
      at = ((length & 0x3f) << 8) | low;
      continue;
    }
    if (length > 63 || at + 1 + length > bytes.length) throw new MalformedPacket("DNS label too long or truncated");
    labels.push(String.fromCharCode(...bytes.subarray(at + 1, at + 1 + length)).toLowerCase());
    at += 1 + length;
  }
  const name = labels.join(".");
  if (name.length > 253) throw new MalformedPacket("DNS name longer than 253 characters");
  return { name, next };
}

export function parseDnsQuery(bytes: Uint8Array): DnsQuery {
  if (bytes.length < 12) throw new MalformedPacket(`DNS message of ${bytes.length} bytes`);
  const v = view(bytes);
  const flags = v.getUint16(2);
  if (flags & 0x8000) throw new MalformedPacket("a DNS response, not a query");
  const count = v.getUint16(4);
  const questions: DnsQuestion[] = [];
  let at = 12;
  for (let i = 0; i < count; i++) {
    const { name, next } = readName(bytes, at);
    if (next + 4 > bytes.length) throw new MalformedPacket("DNS question truncated");
    questions.push({ name, type: v.getUint16(next), class: v.getUint16(next + 2) });
    at = next + 4;
  }
  return { id: v.getUint16(0), flags, questions };
}

function encodeName(name: string): Uint8Array {
  const labels = name.split(".").filter((l) => l.length > 0);
  const bytes = new Uint8Array(labels.reduce((n, l) => n + 1 + l.length, 1));
  let at = 0;
  for (const label of labels) {
    if (label.length > 63) throw new Error(`DNS label longer than 63 characters: ${label}`);
    bytes[at++] = label.length;
    for (let i = 0; i < label.length; i++) bytes[at++] = label.charCodeAt(i) & 0x7f;
  }
  return bytes;
}

/**
 * The answer to `query`: its first question echoed, `addresses` as A records for that name, and `rcode`.
 * Recursion is offered (RA) because the stack answers for every name it can resolve.
 */
export function buildDnsResponse(query: DnsQuery, rcode: number, addresses: readonly Ipv4[] = [], ttl = 60): Uint8Array {
  const question = query.questions[0];
  const qname = question ? encodeName(question.name) : new Uint8Array(0);
  const answers = question ? addresses : [];
  const bytes = new Uint8Array(12 + (question ? qname.length + 4 : 0) + answers.length * 16);
  const v = view(bytes);
  v.setUint16(0, query.id);
  // QR, the query's opcode and RD, RA, and the response code.
  v.setUint16(2, 0x8000 | (query.flags & 0x7900) | 0x0080 | (rcode & 0xf));
  v.setUint16(4, question ? 1 : 0);
  v.setUint16(6, answers.length);
  let at = 12;
  if (question) {
    bytes.set(qname, at);
    at += qname.length;
    v.setUint16(at, question.type);
    v.setUint16(at + 2, question.class);
    at += 4;
  }
  for (const ip of answers) {
    v.setUint16(at, 0xc00c); // a pointer to the question's name
    v.setUint16(at + 2, TYPE_A);
    v.setUint16(at + 4, CLASS_IN);
    v.setUint32(at + 6, ttl);
    v.setUint16(at + 10, 4);
    v.setUint32(at + 12, ip);
    at += 16;
  }
  return bytes;
}
