import { describe, expect, it } from "vitest";
import { buildDhcp, DHCPACK, DHCPDISCOVER, DHCPNAK, DHCPOFFER, DHCPREQUEST, ipOption, OPT_DNS, OPT_MESSAGE_TYPE, OPT_REQUESTED_IP, OPT_ROUTER, OPT_SERVER_ID, optionIp, parseDhcp, type DhcpMessage } from "./dhcp.ts";
import { CLASS_IN, RCODE_NXDOMAIN, RCODE_OK, TYPE_A, TYPE_AAAA } from "./dns.ts";
import { buildIcmp, buildIpv4, buildUdp, ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, parseIcmp, parseIpv4, parseUdp, PROTO_ICMP, PROTO_TCP, PROTO_UDP } from "./ip.ts";
import { ARP_REPLY, ARP_REQUEST, buildArp, buildEthernet, ETHERTYPE_ARP, ETHERTYPE_IPV4, parseArp, parseEthernet } from "./link.ts";
import { NetStack, DEFAULT_NET_CONFIG } from "./stack.ts";
import { ACK, buildTcp, parseTcp, PSH, SYN } from "./tcp.ts";
import { BROADCAST_IP, BROADCAST_MAC, internetChecksum, ipToString, parseIp, parseMac, view } from "./wire.ts";

const guestMac = parseMac("52:54:00:12:34:56");
const otherMac = parseMac("52:54:00:12:34:57");
const stackMac = parseMac(DEFAULT_NET_CONFIG.mac);
const gw = parseIp("10.0.2.2");
const dns = parseIp("10.0.2.3");

function harness(hosts: Record<string, string> = {}): { stack: NetStack; out: Uint8Array[] } {
  const out: Uint8Array[] = [];
  return { stack: new NetStack((f) => out.push(f), { ...DEFAULT_NET_CONFIG, hosts }), out };
}

const ipFrame = (src: number, dst: number, protocol: number, payload: Uint8Array, mac = guestMac, dstMac = stackMac): Uint8Array =>
  buildEthernet(dstMac, mac, ETHERTYPE_IPV4, buildIpv4(src, dst, protocol, payload));

function dhcp(type: number, mac: Uint8Array, extra: [number, Uint8Array][] = [], xid = 0x1234): Uint8Array {
  const message: DhcpMessage = { op: 1, xid, flags: 0, ciaddr: 0, yiaddr: 0, siaddr: 0, giaddr: 0, chaddr: mac, options: new Map([[OPT_MESSAGE_TYPE, new Uint8Array([type])], ...extra]) };
  return ipFrame(0, BROADCAST_IP, PROTO_UDP, buildUdp(0, BROADCAST_IP, 68, 67, buildDhcp(message)), mac, BROADCAST_MAC);
}

function dhcpReply(frame: Uint8Array | undefined): DhcpMessage {
  if (!frame) throw new Error("no reply");
  const ip = parseIpv4(parseEthernet(frame).payload);
  return parseDhcp(parseUdp(ip.payload, ip.src, ip.dst).payload);
}

/** A DNS query as a resolver writes it: one question, recursion desired. */
function dnsQuery(name: string, type = TYPE_A, id = 0xbeef): Uint8Array {
  const labels = name.split(".");
  const bytes = new Uint8Array(12 + labels.reduce((n, l) => n + 1 + l.length, 1) + 4);
  const v = view(bytes);
  v.setUint16(0, id);
  v.setUint16(2, 0x0100);
  v.setUint16(4, 1);
  let at = 12;
  for (const l of labels) {
    bytes[at++] = l.length;
    for (const c of l) bytes[at++] = c.charCodeAt(0);
  }
  at++;
  v.setUint16(at, type);
  v.setUint16(at + 2, CLASS_IN);
  return bytes;
}

describe("wire", () => {
  it("computes the RFC 1071 example checksum", () => {
    // RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to ddf2, so the checksum is 220d.
    expect(internetChecksum(new Uint8Array([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]))).toBe(0x220d);
  });

  it("round-trips addresses and refuses bad ones", () => {
    expect(ipToString(parseIp("10.0.2.15"))).toBe("10.0.2.15");
    expect(() => parseIp("10.0.2.256")).toThrow();
    expect(() => parseMac("52:54:00:12:34")).toThrow();
  });

  it("builds IPv4 headers a parser accepts, and rejects a flipped bit", () => {
    const packet = buildIpv4(parseIp("10.0.2.15"), gw, PROTO_UDP, new Uint8Array([1, 2, 3]));
    expect(parseIpv4(packet).payload).toEqual(new Uint8Array([1, 2, 3]));
    packet[15] = (packet[15] ?? 0) ^ 1;
    expect(() => parseIpv4(packet)).toThrow(/checksum/);
  });

  it("checks UDP checksums over the pseudo-header, and accepts none", () => {
    const src = parseIp("10.0.2.15");
    const udp = buildUdp(src, dns, 5353, 53, new Uint8Array([9, 9, 9]));
    expect(parseUdp(udp, src, dns).payload).toEqual(new Uint8Array([9, 9, 9]));
    expect(() => parseUdp(udp, src, gw)).toThrow(/checksum/);
    udp[6] = 0;
    udp[7] = 0;
    expect(parseUdp(udp, src, gw).dstPort).toBe(53);
  });
});

describe("NetStack: ARP and ping", () => {
  it("answers ARP for the gateway and the DNS server, not for other addresses", () => {
    const { stack, out } = harness();
    const ask = (target: number): Uint8Array =>
      buildEthernet(BROADCAST_MAC, guestMac, ETHERTYPE_ARP, buildArp({ op: ARP_REQUEST, senderMac: guestMac, senderIp: parseIp("10.0.2.15"), targetMac: new Uint8Array(6), targetIp: target }));
    stack.receive(ask(gw));
    stack.receive(ask(dns));
    stack.receive(ask(parseIp("10.0.2.99")));
    expect(out).toHaveLength(2);
    const reply = parseEthernet(out[0] ?? new Uint8Array());
    expect(reply.type).toBe(ETHERTYPE_ARP);
    expect(reply.dst).toEqual(guestMac);
    const arp = parseArp(reply.payload);
    expect(arp).toMatchObject({ op: ARP_REPLY, senderIp: gw, targetIp: parseIp("10.0.2.15") });
    expect(arp.senderMac).toEqual(stackMac);
    expect(stack.neighbour(parseIp("10.0.2.15"))).toEqual(guestMac);
  });

  it("replies to a ping of the gateway with the same identifier, sequence and data", () => {
    const { stack, out } = harness();
    const body = new Uint8Array([0x12, 0x34, 0x00, 0x07, ...new TextEncoder().encode("ping data")]);
    stack.receive(ipFrame(parseIp("10.0.2.15"), gw, PROTO_ICMP, buildIcmp(ICMP_ECHO_REQUEST, 0, body)));
    const ip = parseIpv4(parseEthernet(out[0] ?? new Uint8Array()).payload);
    expect(ip).toMatchObject({ src: gw, dst: parseIp("10.0.2.15"), protocol: PROTO_ICMP });
    const icmp = parseIcmp(ip.payload);
    expect(icmp.type).toBe(ICMP_ECHO_REPLY);
    expect(icmp.body).toEqual(body);
  });

  it("counts fragments, other protocols and frames for other MACs without answering", () => {
    const { stack, out } = harness();
    const fragment = buildIpv4(parseIp("10.0.2.15"), gw, PROTO_ICMP, buildIcmp(ICMP_ECHO_REQUEST, 0, new Uint8Array(8)));
    view(fragment).setUint16(6, 0x2000); // MF
    view(fragment).setUint16(10, 0);
    view(fragment).setUint16(10, internetChecksum(fragment.subarray(0, 20)));
    stack.receive(buildEthernet(stackMac, guestMac, ETHERTYPE_IPV4, fragment));
    stack.receive(ipFrame(parseIp("10.0.2.15"), parseIp("93.184.216.34"), 47, new Uint8Array(20))); // GRE
    stack.receive(ipFrame(parseIp("10.0.2.15"), gw, PROTO_ICMP, buildIcmp(ICMP_ECHO_REQUEST, 0, new Uint8Array(8)), guestMac, otherMac));
    expect(out).toHaveLength(0);
    expect(stack.counters).toMatchObject({ fragments: 1, unhandled: 1, malformed: 0 });
  });
});

describe("NetStack: DHCP", () => {
  it("offers, then acknowledges, an address with the router and DNS server", () => {
    const { stack, out } = harness();
    stack.receive(dhcp(DHCPDISCOVER, guestMac));
    const offer = dhcpReply(out[0]);
    expect(offer.options.get(OPT_MESSAGE_TYPE)?.[0]).toBe(DHCPOFFER);
    expect(ipToString(offer.yiaddr)).toBe("10.0.2.15");
    expect(offer.xid).toBe(0x1234);
    stack.receive(dhcp(DHCPREQUEST, guestMac, [[OPT_REQUESTED_IP, ipOption(offer.yiaddr)], [OPT_SERVER_ID, ipOption(gw)]]));
    const ack = dhcpReply(out[1]);
    expect(ack.options.get(OPT_MESSAGE_TYPE)?.[0]).toBe(DHCPACK);
    expect(ack.yiaddr).toBe(offer.yiaddr);
    expect(optionIp(ack.options.get(OPT_ROUTER))).toBe(gw);
    expect(optionIp(ack.options.get(OPT_DNS))).toBe(dns);
    // Sent to the client's MAC, broadcast at the IP layer.
    const frame = parseEthernet(out[1] ?? new Uint8Array());
    expect(frame.dst).toEqual(guestMac);
    expect(parseIpv4(frame.payload).dst).toBe(BROADCAST_IP);
  });

  it("gives each MAC its own lease and the same one again", () => {
    const { stack, out } = harness();
    const lease = (mac: Uint8Array): number => {
      stack.receive(dhcp(DHCPDISCOVER, mac));
      const offer = dhcpReply(out.at(-1));
      stack.receive(dhcp(DHCPREQUEST, mac, [[OPT_REQUESTED_IP, ipOption(offer.yiaddr)]]));
      return dhcpReply(out.at(-1)).yiaddr;
    };
    const a = lease(guestMac);
    const b = lease(otherMac);
    expect(a).not.toBe(b);
    expect(lease(guestMac)).toBe(a);
  });

  it("NAKs a request for another MAC's address or one outside the pool", () => {
    const { stack, out } = harness();
    stack.receive(dhcp(DHCPREQUEST, guestMac, [[OPT_REQUESTED_IP, ipOption(parseIp("10.0.2.15"))]]));
    stack.receive(dhcp(DHCPREQUEST, otherMac, [[OPT_REQUESTED_IP, ipOption(parseIp("10.0.2.15"))]]));
    stack.receive(dhcp(DHCPREQUEST, otherMac, [[OPT_REQUESTED_IP, ipOption(parseIp("192.168.1.5"))]]));
    expect(out.map((f) => dhcpReply(f).options.get(OPT_MESSAGE_TYPE)?.[0])).toEqual([DHCPACK, DHCPNAK, DHCPNAK]);
  });

  it("stays silent when the pool is exhausted or the client chose another server", () => {
    const { stack, out } = harness();
    for (let i = 0; i < DEFAULT_NET_CONFIG.dhcpCount; i++) {
      const mac = new Uint8Array([0x52, 0x54, 0, 0, 1, i]);
      stack.receive(dhcp(DHCPREQUEST, mac, [[OPT_REQUESTED_IP, ipOption(parseIp("10.0.2.15") + i)]]));
    }
    const sent = out.length;
    stack.receive(dhcp(DHCPDISCOVER, new Uint8Array([0x52, 0x54, 0, 0, 2, 0])));
    stack.receive(dhcp(DHCPREQUEST, guestMac, [[OPT_REQUESTED_IP, ipOption(parseIp("10.0.2.31"))], [OPT_SERVER_ID, ipOption(parseIp("10.0.2.9"))]]));
    expect(out.length).toBe(sent);
  });
});

describe("NetStack: DNS", () => {
  const ask = (stack: NetStack, query: Uint8Array): void => stack.receive(ipFrame(parseIp("10.0.2.15"), dns, PROTO_UDP, buildUdp(parseIp("10.0.2.15"), dns, 40000, 53, query)));
  const answer = (frame: Uint8Array | undefined): { id: number; rcode: number; answers: number; ip?: string } => {
    const ip = parseIpv4(parseEthernet(frame ?? new Uint8Array()).payload);
    const udp = parseUdp(ip.payload, ip.src, ip.dst);
    expect(udp.srcPort).toBe(53);
    expect(udp.dstPort).toBe(40000);
    const v = view(udp.payload);
    const answers = v.getUint16(6);
    const last = udp.payload.length - 4;
    return { id: v.getUint16(0), rcode: v.getUint16(2) & 0xf, answers, ...(answers ? { ip: ipToString(v.getUint32(last)) } : {}) };
  };

  it("answers A queries from the hosts table, any case", () => {
    const { stack, out } = harness({ "lab.example": "10.0.2.2" });
    ask(stack, dnsQuery("Lab.Example"));
    expect(answer(out[0])).toEqual({ id: 0xbeef, rcode: RCODE_OK, answers: 1, ip: "10.0.2.2" });
  });

  it("says NXDOMAIN for unknown names and an empty answer for AAAA of a known one", () => {
    const { stack, out } = harness({ "lab.example": "10.0.2.2" });
    ask(stack, dnsQuery("nowhere.example"));
    ask(stack, dnsQuery("lab.example", TYPE_AAAA));
    expect(answer(out[0])).toMatchObject({ rcode: RCODE_NXDOMAIN, answers: 0 });
    expect(answer(out[1])).toMatchObject({ rcode: RCODE_OK, answers: 0 });
  });

  it("gives other names stable stand-in addresses, and a TCP connection to one reaches the transport by name", async () => {
    const targets: string[] = [];
    const out: Uint8Array[] = [];
    const stack = new NetStack((f) => out.push(f), { ...DEFAULT_NET_CONFIG, hosts: { "lab.example": "10.0.2.2" } }, {
      nameAddresses: true,
      tcp: (target) => {
        targets.push(`${target.hostname ?? "?"} ${target.ip}:${target.port}`);
        return Promise.reject(new Error("test"));
      },
    });
    ask(stack, dnsQuery("www.Example.org"));
    ask(stack, dnsQuery("other.example.org"));
    ask(stack, dnsQuery("www.example.org"));
    ask(stack, dnsQuery("lab.example"));
    ask(stack, dnsQuery("bad_name!"));
    const [first, second, again, configured, bad] = out.map(answer);
    expect(first?.ip).toBe("198.18.0.1");
    expect(second?.ip).toBe("198.18.0.2");
    expect(again?.ip).toBe("198.18.0.1");
    expect(configured?.ip).toBe("10.0.2.2");
    expect(bad?.rcode).toBe(RCODE_NXDOMAIN);
    const guest = parseIp("10.0.2.15");
    const standIn = parseIp("198.18.0.1");
    stack.receive(ipFrame(guest, standIn, PROTO_TCP, buildTcp(guest, standIn, { srcPort: 5555, dstPort: 80, seq: 1, ack: 0, flags: SYN, window: 1000, payload: new Uint8Array() })));
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(targets).toEqual(["www.example.org 198.18.0.1:80"]);
  });

  it("answers queries sent to any server address, from the server the guest asked", () => {
    const { stack, out } = harness({ "lab.example": "10.0.2.2" });
    const guest = parseIp("10.0.2.15");
    const google = parseIp("8.8.8.8");
    stack.receive(ipFrame(guest, google, PROTO_UDP, buildUdp(guest, google, 40000, 53, dnsQuery("lab.example"))));
    expect(answer(out[0])).toMatchObject({ rcode: RCODE_OK, ip: "10.0.2.2" });
    expect(ipToString(parseIpv4(parseEthernet(out[0] ?? new Uint8Array()).payload).src)).toBe("8.8.8.8");
  });

  it("passes names the hosts table lacks to the outside resolver, and falls back when it fails", async () => {
    const asked: string[] = [];
    const out: Uint8Array[] = [];
    const stack = new NetStack((f) => out.push(f), { ...DEFAULT_NET_CONFIG, hosts: { "lab.example": "10.0.2.2" } }, {
      resolve: (query) => {
        const id = view(query).getUint16(0);
        asked.push(id.toString(16));
        if (id === 0xdead) return Promise.reject(new Error("resolver down"));
        // The resolver's own answer (an A record it made up), returned as is.
        const reply = query.slice();
        view(reply).setUint16(2, 0x8180);
        return Promise.resolve(reply);
      },
    });
    ask(stack, dnsQuery("lab.example", TYPE_A, 0x0001));
    ask(stack, dnsQuery("www.example.org", TYPE_A, 0x0002));
    ask(stack, dnsQuery("down.example.org", TYPE_A, 0xdead));
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(asked).toEqual(["2", "dead"]);
    const [local, outside, failed] = out.map(answer);
    expect(local).toMatchObject({ id: 1, ip: "10.0.2.2" });
    expect(outside).toMatchObject({ id: 2, rcode: RCODE_OK });
    expect(failed).toMatchObject({ id: 0xdead, rcode: RCODE_NXDOMAIN });
    expect(stack.counters.dnsFailures).toBe(1);
  });

  it("counts a query with a compression loop as malformed", () => {
    const { stack, out } = harness();
    const query = new Uint8Array([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]);
    ask(stack, query);
    expect(out).toHaveLength(0);
    expect(stack.counters.malformed).toBe(1);
  });
});

describe("NetStack: UDP NAT and leases", () => {
  const guest = parseIp("10.0.2.15");
  const far = parseIp("192.0.2.7");

  it("carries each guest UDP flow to the connector and its replies back from the target's address", async () => {
    const out: Uint8Array[] = [];
    const sent: string[] = [];
    const targets: string[] = [];
    let reply: ((bytes: Uint8Array) => void) | undefined;
    const stack = new NetStack((f) => out.push(f), DEFAULT_NET_CONFIG, {
      udp: (target, sink) => {
        targets.push(`${target.ip}:${target.port}`);
        reply = (bytes) => sink.datagram(bytes);
        return Promise.resolve({ send: (bytes) => sent.push(new TextDecoder().decode(bytes)), close: () => {} });
      },
    });
    stack.receive(ipFrame(guest, far, PROTO_UDP, buildUdp(guest, far, 4000, 7777, new TextEncoder().encode("one"))));
    stack.receive(ipFrame(guest, far, PROTO_UDP, buildUdp(guest, far, 4000, 7777, new TextEncoder().encode("two"))));
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(targets).toEqual(["192.0.2.7:7777"]);
    expect(sent).toEqual(["one", "two"]);
    expect(stack.udpFlowCount).toBe(1);
    reply?.(new TextEncoder().encode("pong"));
    const ip = parseIpv4(parseEthernet(out[0] ?? new Uint8Array()).payload);
    const udp = parseUdp(ip.payload, ip.src, ip.dst);
    expect([ipToString(ip.src), udp.srcPort, ipToString(ip.dst), udp.dstPort, new TextDecoder().decode(udp.payload)]).toEqual(["192.0.2.7", 7777, "10.0.2.15", 4000, "pong"]);
  });

  it("carries UDP to the gateway (the user's machine) too, but not to other addresses on the segment", async () => {
    const targets: string[] = [];
    const stack = new NetStack(() => {}, DEFAULT_NET_CONFIG, {
      udp: (target) => {
        targets.push(`${target.ip}:${target.port}`);
        return Promise.resolve({ send: () => {}, close: () => {} });
      },
    });
    stack.receive(ipFrame(guest, gw, PROTO_UDP, buildUdp(guest, gw, 4000, 5353, new Uint8Array([1]))));
    stack.receive(ipFrame(guest, parseIp("10.0.2.40"), PROTO_UDP, buildUdp(guest, parseIp("10.0.2.40"), 4000, 5353, new Uint8Array([1]))));
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(targets).toEqual(["10.0.2.2:5353"]);
    expect(stack.counters.unhandled).toBe(1);
  });

  it("forgets a flow the connector refused, and drops UDP when there is no connector", async () => {
    const refusing = new NetStack(() => {}, DEFAULT_NET_CONFIG, { udp: () => Promise.reject(new Error("no UDP on this relay")) });
    refusing.receive(ipFrame(guest, far, PROTO_UDP, buildUdp(guest, far, 4000, 7777, new Uint8Array([1]))));
    expect(refusing.udpFlowCount).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(refusing.udpFlowCount).toBe(0);
    const { stack } = harness();
    stack.receive(ipFrame(guest, far, PROTO_UDP, buildUdp(guest, far, 4000, 7777, new Uint8Array([1]))));
    expect(stack.counters.unhandled).toBe(1);
  });

  it("lists leases, including an address a restored guest is seen using", () => {
    const { stack, out } = harness();
    stack.receive(dhcp(DHCPDISCOVER, otherMac));
    const offered = dhcpReply(out[0]).yiaddr;
    stack.receive(dhcp(DHCPREQUEST, otherMac, [[OPT_REQUESTED_IP, ipOption(offered)]]));
    stack.receive(ipFrame(parseIp("10.0.2.20"), gw, PROTO_ICMP, buildIcmp(ICMP_ECHO_REQUEST, 0, new Uint8Array(8))));
    expect(stack.leaseList()).toEqual([
      { mac: "52:54:00:12:34:57", ip: ipToString(offered) },
      { mac: "52:54:00:12:34:56", ip: "10.0.2.20" },
    ]);
    expect(stack.leaseOf("52:54:00:12:34:56")).toBe("10.0.2.20");
  });

  it("starts from a saved state's leases: the guest keeps its address, another MAC never gets it, and a clash or an address outside the pool is left out", () => {
    const saved = harness();
    saved.stack.receive(dhcp(DHCPDISCOVER, guestMac));
    const leased = dhcpReply(saved.out[0]).yiaddr;
    saved.stack.receive(dhcp(DHCPREQUEST, guestMac, [[OPT_REQUESTED_IP, ipOption(leased)]]));

    const { stack, out } = harness();
    stack.restoreLeases([...saved.stack.leaseList(), { mac: "52:54:00:12:34:58", ip: ipToString(leased) }, { mac: "52:54:00:12:34:59", ip: "192.168.1.5" }]);
    expect(stack.leaseList()).toEqual([{ mac: "52:54:00:12:34:56", ip: ipToString(leased) }]);
    expect(stack.leaseOf("52:54:00:12:34:56")).toBe(ipToString(leased));
    stack.receive(dhcp(DHCPDISCOVER, otherMac));
    expect(dhcpReply(out[0]).yiaddr).not.toBe(leased);
    // The guest's renewal, whenever it comes, is acknowledged with the same address.
    stack.receive(dhcp(DHCPREQUEST, guestMac, [[OPT_REQUESTED_IP, ipOption(leased)]]));
    const ack = dhcpReply(out[1]);
    expect(ack.options.get(OPT_MESSAGE_TYPE)?.[0]).toBe(DHCPACK);
    expect(ack.yiaddr).toBe(leased);
  });

  it("reaches a restored guest it has not heard from yet: a port forward's SYN goes to the lease's MAC", () => {
    const { stack, out } = harness();
    stack.restoreLeases([{ mac: "52:54:00:12:34:56", ip: "10.0.2.16" }]);
    void stack.connectToGuest("10.0.2.16", 80, { write: () => {}, end: () => {}, abort: () => {}, buffered: 0, pause: () => {}, resume: () => {} });
    const frame = out.at(-1);
    if (!frame) throw new Error("no frame toward the guest");
    const ethernet = parseEthernet(frame);
    expect(ethernet.dst).toEqual(guestMac);
    const ip = parseIpv4(ethernet.payload);
    expect(ip.dst).toBe(parseIp("10.0.2.16"));
    expect(ip.protocol).toBe(PROTO_TCP);
    expect(parseTcp(ip.payload, ip.src, ip.dst).flags & SYN).toBe(SYN);
  });
});

describe("NetStack: hostile input", () => {
  it("survives 100,000 random and mutated frames (a SYN flood among them), stays bounded, and still serves ping and TCP", async () => {
    const out: Uint8Array[] = [];
    const streams: Uint8Array[][] = [];
    const stack = new NetStack((f) => out.push(f), { ...DEFAULT_NET_CONFIG, hosts: { "lab.example": "10.0.2.2" } }, {
      tcp: () => {
        const received: Uint8Array[] = [];
        streams.push(received);
        return Promise.resolve({ write: (b) => received.push(b), end: () => {}, abort: () => {}, buffered: 0, pause: () => {}, resume: () => {} });
      },
    });
    const guest = parseIp("10.0.2.15");
    const web = parseIp("93.184.216.34");
    const tcpFrame = (port: number, flags: number, seq: number, ack: number, payload = new Uint8Array(0)): Uint8Array =>
      ipFrame(guest, web, PROTO_TCP, buildTcp(guest, web, { srcPort: port, dstPort: 80, seq, ack, flags, window: 65535, mss: 1460, windowScale: 7, payload }));
    let seed = 12345;
    const random = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const samples = [
      dhcp(DHCPDISCOVER, guestMac),
      ipFrame(parseIp("10.0.2.15"), gw, PROTO_ICMP, buildIcmp(ICMP_ECHO_REQUEST, 0, new Uint8Array(16))),
      ipFrame(parseIp("10.0.2.15"), dns, PROTO_UDP, buildUdp(parseIp("10.0.2.15"), dns, 40000, 53, dnsQuery("lab.example"))),
      buildEthernet(BROADCAST_MAC, guestMac, ETHERTYPE_ARP, buildArp({ op: ARP_REQUEST, senderMac: guestMac, senderIp: parseIp("10.0.2.15"), targetMac: new Uint8Array(6), targetIp: gw })),
      tcpFrame(1000, SYN, 1, 0),
      tcpFrame(1001, ACK | PSH, 2, 99, new Uint8Array(300)),
    ];
    const thrown: unknown[] = [];
    for (let i = 0; i < 100_000; i++) {
      const base = samples[i % samples.length] ?? new Uint8Array();
      let frame: Uint8Array;
      if (i % 5 === 0) {
        frame = new Uint8Array(Math.floor(random() * 600));
        for (let j = 0; j < frame.length; j++) frame[j] = Math.floor(random() * 256);
      } else {
        frame = base.slice(0, i % 7 === 0 ? Math.floor(random() * base.length) : base.length);
        for (let flips = 1 + Math.floor(random() * 4); flips > 0; flips--) {
          const at = Math.floor(random() * frame.length);
          frame[at] = Math.floor(random() * 256);
        }
      }
      // Every 50th frame is a well-formed SYN from a new port: a flood the connection cap must absorb.
      if (i % 50 === 0) frame = tcpFrame(2000 + (i % 60000), SYN, i, 0);
      try {
        stack.receive(frame);
      } catch (err) {
        thrown.push(err);
      }
      out.length = 0;
    }
    expect(thrown).toEqual([]);
    expect(stack.counters.received).toBe(100_000);
    expect(stack.counters.malformed).toBeGreaterThan(10_000);
    await new Promise((resolve) => setTimeout(resolve, 0)); // the flood's connects resolve
    out.length = 0;
    expect(stack.tcp.size).toBeLessThanOrEqual(512);
    stack.receive(samples[1] ?? new Uint8Array());
    expect(parseIcmp(parseIpv4(parseEthernet(out[0] ?? new Uint8Array()).payload).payload).type).toBe(ICMP_ECHO_REPLY);
    // The flood filled the table; the guest's RSTs free it (as a guest's own timeouts would), then a
    // fresh connection carries data.
    stack.tcp.resetAll();
    out.length = 0;
    stack.receive(tcpFrame(7000, SYN, 5000, 0));
    await new Promise((resolve) => setTimeout(resolve, 0));
    const synAck = parseTcp(parseIpv4(parseEthernet(out.at(-1) ?? new Uint8Array()).payload).payload, web, guest);
    expect(synAck.flags).toBe(SYN | ACK);
    stack.receive(tcpFrame(7000, ACK | PSH, 5001, synAck.seq + 1, new TextEncoder().encode("GET / HTTP/1.0\r\n\r\n")));
    expect(new TextDecoder().decode(streams.at(-1)?.[0])).toBe("GET / HTTP/1.0\r\n\r\n");
  }, 120_000);
});
