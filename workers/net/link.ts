// The link layer: Ethernet II frames and ARP for IPv4 over Ethernet (RFC 826).
import { MalformedPacket, view, type Ipv4, type Mac } from "./wire.ts";

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
const ETHERNET_HEADER = 14;

export interface EthernetFrame {
  dst: Mac;
  src: Mac;
  type: number;
  payload: Uint8Array;
}

export function parseEthernet(frame: Uint8Array): EthernetFrame {
  if (frame.length < ETHERNET_HEADER) throw new MalformedPacket(`Ethernet frame of ${frame.length} bytes`);
  const type = view(frame).getUint16(12);
  // An 802.3 length field instead of an EtherType (or an 802.1Q tag) is not spoken here.
  if (type < 0x0600) throw new MalformedPacket(`802.3 length field ${type} instead of an EtherType`);
  return { dst: frame.subarray(0, 6), src: frame.subarray(6, 12), type, payload: frame.subarray(ETHERNET_HEADER) };
}

export function buildEthernet(dst: Mac, src: Mac, type: number, payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(ETHERNET_HEADER + payload.length);
  frame.set(dst, 0);
  frame.set(src, 6);
  view(frame).setUint16(12, type);
  frame.set(payload, ETHERNET_HEADER);
  return frame;
}

export const ARP_REQUEST = 1;
export const ARP_REPLY = 2;

export interface ArpPacket {
  op: number;
  senderMac: Mac;
  senderIp: Ipv4;
  targetMac: Mac;
  targetIp: Ipv4;
}

export function parseArp(bytes: Uint8Array): ArpPacket {
  if (bytes.length < 28) throw new MalformedPacket(`ARP packet of ${bytes.length} bytes`);
  const v = view(bytes);
  if (v.getUint16(0) !== 1 || v.getUint16(2) !== ETHERTYPE_IPV4 || bytes[4] !== 6 || bytes[5] !== 4) {
    throw new MalformedPacket("ARP for something other than IPv4 over Ethernet");
  }
  return { op: v.getUint16(6), senderMac: bytes.slice(8, 14), senderIp: v.getUint32(14), targetMac: bytes.slice(18, 24), targetIp: v.getUint32(24) };
}

export function buildArp(p: ArpPacket): Uint8Array {
  const bytes = new Uint8Array(28);
  const v = view(bytes);
  v.setUint16(0, 1);
  v.setUint16(2, ETHERTYPE_IPV4);
  bytes[4] = 6;
  bytes[5] = 4;
  v.setUint16(6, p.op);
  bytes.set(p.senderMac, 8);
  v.setUint32(14, p.senderIp);
  bytes.set(p.targetMac, 18);
  v.setUint32(24, p.targetIp);
  return bytes;
}
