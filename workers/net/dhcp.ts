// DHCP messages (RFC 2131, options from RFC 2132) and the server's lease table, one lease per MAC.
import { MalformedPacket, macToString, view, type Ipv4, type Mac } from "./wire.ts";

export const DHCP_SERVER_PORT = 67;
export const DHCP_CLIENT_PORT = 68;
const MAGIC_COOKIE = 0x63825363;
const FIXED = 236;

export const DHCPDISCOVER = 1;
export const DHCPOFFER = 2;
export const DHCPREQUEST = 3;
export const DHCPDECLINE = 4;
export const DHCPACK = 5;
export const DHCPNAK = 6;
export const DHCPRELEASE = 7;

export const OPT_SUBNET_MASK = 1;
export const OPT_ROUTER = 3;
export const OPT_DNS = 6;
export const OPT_HOSTNAME = 12;
export const OPT_DOMAIN = 15;
export const OPT_REQUESTED_IP = 50;
export const OPT_LEASE_TIME = 51;
export const OPT_MESSAGE_TYPE = 53;
export const OPT_SERVER_ID = 54;

export interface DhcpMessage {
  op: 1 | 2;
  xid: number;
  flags: number;
  ciaddr: Ipv4;
  yiaddr: Ipv4;
  siaddr: Ipv4;
  giaddr: Ipv4;
  chaddr: Mac;
  /** Option code to value; pad and end are not kept. */
  options: Map<number, Uint8Array>;
}

export function parseDhcp(bytes: Uint8Array): DhcpMessage {
  if (bytes.length < FIXED + 4) throw new MalformedPacket(`DHCP message of ${bytes.length} bytes`);
  const v = view(bytes);
  const op = bytes[0];
  if ((op !== 1 && op !== 2) || bytes[1] !== 1 || bytes[2] !== 6) throw new MalformedPacket("BOOTP message not for Ethernet");
  if (v.getUint32(FIXED) !== MAGIC_COOKIE) throw new MalformedPacket("BOOTP message without the DHCP magic cookie");
  const options = new Map<number, Uint8Array>();
  let at = FIXED + 4;
  while (at < bytes.length) {
    const code = bytes[at] ?? 255;
    if (code === 255) break;
    if (code === 0) {
      at++;
      continue;
    }
    const length = bytes[at + 1];
    if (length === undefined || at + 2 + length > bytes.length) throw new MalformedPacket(`DHCP option ${code} runs past the message`);
    options.set(code, bytes.slice(at + 2, at + 2 + length));
    at += 2 + length;
  }
  return {
    op,
    xid: v.getUint32(4),
    flags: v.getUint16(10),
    ciaddr: v.getUint32(12),
    yiaddr: v.getUint32(16),
    siaddr: v.getUint32(20),
    giaddr: v.getUint32(24),
    chaddr: bytes.slice(28, 34),
    options,
  };
}

export function buildDhcp(m: DhcpMessage): Uint8Array {
  const optionBytes = [...m.options].reduce((n, [, value]) => n + 2 + value.length, 0);
  // 300 bytes at least: some BOOTP clients drop shorter replies.
  const bytes = new Uint8Array(Math.max(300, FIXED + 4 + optionBytes + 1));
  const v = view(bytes);
  bytes[0] = m.op;
  bytes[1] = 1;
  bytes[2] = 6;
  v.setUint32(4, m.xid);
  v.setUint16(10, m.flags);
  v.setUint32(12, m.ciaddr);
  v.setUint32(16, m.yiaddr);
  v.setUint32(20, m.siaddr);
  v.setUint32(24, m.giaddr);
  bytes.set(m.chaddr.subarray(0, 6), 28);
  v.setUint32(FIXED, MAGIC_COOKIE);
  let at = FIXED + 4;
  for (const [code, value] of m.options) {
    if (value.length > 255) throw new Error(`DHCP option ${code} is ${value.length} bytes, more than 255`);
    bytes[at] = code;
    bytes[at + 1] = value.length;
    bytes.set(value, at + 2);
    at += 2 + value.length;
  }
  bytes[at] = 255;
  return bytes;
}

export const ipOption = (...ips: Ipv4[]): Uint8Array => {
  const bytes = new Uint8Array(4 * ips.length);
  ips.forEach((ip, i) => view(bytes).setUint32(4 * i, ip));
  return bytes;
};

export const u32Option = (n: number): Uint8Array => ipOption(n);

export const optionIp = (value: Uint8Array | undefined): Ipv4 | undefined => (value?.length === 4 ? view(value).getUint32(0) : undefined);

/** Hands out addresses from a range, one per MAC, and gives a MAC the same address again. */
export class LeaseTable {
  private readonly byMac = new Map<string, Ipv4>();
  private readonly byIp = new Map<Ipv4, string>();

  constructor(
    private readonly first: Ipv4,
    private readonly count: number,
  ) {}

  /** The MAC's address: its lease, else the requested one if free and in range, else the first free. */
  offer(mac: Mac, requested?: Ipv4): Ipv4 | undefined {
    const key = macToString(mac);
    const held = this.byMac.get(key);
    if (held !== undefined) return held;
    if (requested !== undefined && this.inRange(requested) && !this.byIp.has(requested)) return requested;
    for (let i = 0; i < this.count; i++) {
      if (!this.byIp.has(this.first + i)) return this.first + i;
    }
    return undefined;
  }

  /** Binds `ip` to `mac`; false if another MAC holds it or it is out of range. */
  bind(mac: Mac, ip: Ipv4): boolean {
    const key = macToString(mac);
    const owner = this.byIp.get(ip);
    if (!this.inRange(ip) || (owner !== undefined && owner !== key)) return false;
    this.release(mac);
    this.byMac.set(key, ip);
    this.byIp.set(ip, key);
    return true;
  }

  /** Records an address a MAC is seen using, if nobody holds it and the MAC holds nothing else. */
  adopt(mac: Mac, ip: Ipv4): void {
    if (!this.inRange(ip) || this.byIp.has(ip)) return; // the common case, without building a key
    const key = macToString(mac);
    if (this.byMac.has(key)) return;
    this.byMac.set(key, ip);
    this.byIp.set(ip, key);
  }

  release(mac: Mac): void {
    const key = macToString(mac);
    const ip = this.byMac.get(key);
    if (ip === undefined) return;
    this.byMac.delete(key);
    this.byIp.delete(ip);
  }

  leaseOf(mac: Mac): Ipv4 | undefined {
    return this.byMac.get(macToString(mac));
  }

  /** [MAC, address] pairs, MACs as "52:54:00:12:34:56". */
  entries(): Array<[string, Ipv4]> {
    return [...this.byMac];
  }

  private inRange(ip: Ipv4): boolean {
    return ip >= this.first && ip < this.first + this.count;
  }
}
