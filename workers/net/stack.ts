// The guest's network, slirp style: one virtual Ethernet segment on which the stack plays the gateway
// (10.0.2.2) and the DNS server (10.0.2.3), answers ARP and ping for them, and leases addresses by DHCP.
// TCP to any address outside the segment (and to the gateway, "the user's machine") is terminated here
// and carried on by a TcpConnector. DNS (UDP 53 to any address) is answered here: the hosts table
// first, then an outside resolver (the relay, DNS-over-HTTPS) or stand-in addresses. Other UDP goes to a
// UdpConnector when there is one (the relay), else it is counted and dropped.
import { buildDhcp, DHCP_CLIENT_PORT, DHCP_SERVER_PORT, DHCPACK, DHCPDISCOVER, DHCPNAK, DHCPOFFER, DHCPRELEASE, DHCPREQUEST, ipOption, LeaseTable, OPT_DNS, OPT_LEASE_TIME, OPT_MESSAGE_TYPE, OPT_REQUESTED_IP, OPT_ROUTER, OPT_SERVER_ID, OPT_SUBNET_MASK, optionIp, parseDhcp, u32Option, type DhcpMessage } from "./dhcp.ts";
import { buildDnsResponse, DNS_PORT, parseDnsQuery, RCODE_NOTIMP, RCODE_NXDOMAIN, RCODE_OK, TYPE_A, type DnsQuery } from "./dns.ts";
import { buildIcmp, buildIpv4, buildUdp, ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, parseIcmp, parseIpv4, parseUdp, PROTO_ICMP, PROTO_TCP, PROTO_UDP, type Ipv4Packet } from "./ip.ts";
import { TcpNat } from "./tcp.ts";
import { refuseAll, type DnsResolver, type OutsideDatagrams, type OutsideStream, type StreamSink, type TcpConnector, type UdpConnector } from "./transport.ts";
import { ARP_REPLY, ARP_REQUEST, buildArp, buildEthernet, ETHERTYPE_ARP, ETHERTYPE_IPV4, parseArp, parseEthernet } from "./link.ts";
import { BROADCAST_IP, BROADCAST_MAC, ipToString, MalformedPacket, macEquals, parseIp, parseMac, type Ipv4, type Mac } from "./wire.ts";

export interface NetConfig {
  /** The segment, e.g. 10.0.2.0, and its mask. */
  network: string;
  netmask: string;
  gateway: string;
  dns: string;
  /** The first address DHCP hands out, and how many. */
  dhcpStart: string;
  dhcpCount: number;
  leaseSeconds: number;
  /** The stack's own MAC, shared by the gateway and DNS addresses as in slirp. */
  mac: string;
  /** Names the DNS server answers itself (lower-case, no trailing dot) → IPv4 address. */
  hosts: Record<string, string>;
}

export const DEFAULT_NET_CONFIG: NetConfig = {
  network: "10.0.2.0",
  netmask: "255.255.255.0",
  gateway: "10.0.2.2",
  dns: "10.0.2.3",
  dhcpStart: "10.0.2.15",
  dhcpCount: 16,
  leaseSeconds: 86400,
  mac: "52:55:0a:00:02:02",
  hosts: {},
};

/** What the stack dropped and why, for the UI and for tests. */
export interface NetCounters {
  received: number;
  sent: number;
  malformed: number;
  fragments: number;
  /** Well-formed traffic no service handles (e.g. UDP to the outside). */
  unhandled: number;
  /** DNS questions the outside resolver failed to answer. */
  dnsFailures: number;
}

/** What carries the guest's traffic beyond the segment. */
export interface NetServices {
  /** Opens outside TCP streams; default: refuse every connection. */
  tcp?: TcpConnector;
  /**
   * Answer names outside the hosts table with a stand-in address from 198.18.0.0/15 (reserved for
   * testing, never routed), remembered per name: TCP to it reaches the transport by name, which resolves
   * it outside (the relay, or fetch). Without this, such names get NXDOMAIN.
   */
  nameAddresses?: boolean;
  /** Answers DNS questions the hosts table does not (the relay, DNS-over-HTTPS); tried before stand-ins. */
  resolve?: DnsResolver;
  /** Carries UDP flows other than DHCP and DNS (the relay); without it they are counted and dropped. */
  udp?: UdpConnector;
}

/** One lease as the UI shows it. */
export interface LeaseInfo {
  mac: string;
  ip: string;
}

/** UDP flows are forgotten after this long without a datagram either way, as NATs do. */
const UDP_IDLE_MS = 60_000;
const UDP_MAX_FLOWS = 256;

interface UdpFlow {
  outside: Promise<OutsideDatagrams | undefined>;
  lastUsed: number;
}

const STAND_IN_FIRST = 0xc6120001; // 198.18.0.1
const STAND_IN_COUNT = 0x1fffe;

export class NetStack {
  readonly tcp: TcpNat;
  readonly counters: NetCounters = { received: 0, sent: 0, malformed: 0, fragments: 0, unhandled: 0, dnsFailures: 0 };
  private readonly mac: Mac;
  private readonly gateway: Ipv4;
  private readonly dns: Ipv4;
  private readonly netmask: Ipv4;
  private readonly network: Ipv4;
  private readonly leases: LeaseTable;
  private readonly hosts = new Map<string, Ipv4>();
  /** Address → the name the DNS server gave it, so transports can connect by name. */
  private readonly names = new Map<Ipv4, string>();
  /** IPv4 → MAC of guests, learnt from their ARP and IP traffic. */
  private readonly neighbours = new Map<Ipv4, Mac>();

  private readonly nameAddresses: boolean;
  private readonly resolver: DnsResolver | undefined;
  private readonly udp: UdpConnector | undefined;
  private readonly udpFlows = new Map<string, UdpFlow>();
  private nextStandIn = 0;

  constructor(
    /** Delivers a frame to the guest side of the segment (or later, through attach). */
    private send: (frame: Uint8Array) => void = () => {},
    readonly config: NetConfig = DEFAULT_NET_CONFIG,
    services: NetServices = {},
  ) {
    this.nameAddresses = services.nameAddresses ?? false;
    this.resolver = services.resolve;
    this.udp = services.udp;
    this.mac = parseMac(config.mac);
    this.gateway = parseIp(config.gateway);
    this.dns = parseIp(config.dns);
    this.netmask = parseIp(config.netmask);
    this.network = parseIp(config.network) & this.netmask;
    this.leases = new LeaseTable(parseIp(config.dhcpStart), config.dhcpCount);
    for (const [name, ip] of Object.entries(config.hosts)) this.hosts.set(name.toLowerCase().replace(/\.$/, ""), parseIp(ip));
    for (const [name, ip] of this.hosts) this.names.set(ip, name);
    this.tcp = new TcpNat((src, dst, segment) => this.toGuest(src, dst, PROTO_TCP, segment), {
      connector: services.tcp ?? refuseAll("no TCP transport"),
      localIp: this.gateway,
      nameOf: (ip) => this.names.get(ip),
    });
  }

  /** Where frames for the guest go from now on: the machine's NIC, once it exists. */
  attach(deliver: (frame: Uint8Array) => void): void {
    this.send = deliver;
  }

  /** Opens a TCP connection from the gateway to a server in the guest (port forwards, the preview). */
  connectToGuest(ip: string, port: number, outside: OutsideStream): Promise<StreamSink> {
    return this.tcp.connectToGuest(parseIp(ip), port, outside);
  }

  /** An IP packet toward a guest whose MAC we learnt; dropped (counted) if we never heard from it. */
  private toGuest(src: Ipv4, dst: Ipv4, protocol: number, payload: Uint8Array): void {
    const mac = this.neighbours.get(dst);
    if (mac) this.emitIp(mac, src, dst, protocol, payload);
    else this.counters.unhandled++;
  }

  /** A frame from the guest. Malformed input is counted and dropped, never thrown. */
  receive(frame: Uint8Array): void {
    this.counters.received++;
    try {
      const ethernet = parseEthernet(frame);
      if (!macEquals(ethernet.dst, this.mac) && !macEquals(ethernet.dst, BROADCAST_MAC)) return;
      if (ethernet.type === ETHERTYPE_ARP) this.onArp(ethernet.payload);
      else if (ethernet.type === ETHERTYPE_IPV4) this.onIpv4(ethernet.src, ethernet.payload);
      else this.counters.unhandled++;
    } catch (err) {
      if (!(err instanceof MalformedPacket)) throw err;
      this.counters.malformed++;
    }
  }

  private own(ip: Ipv4): boolean {
    return ip === this.gateway || ip === this.dns;
  }

  private onArp(bytes: Uint8Array): void {
    const arp = parseArp(bytes);
    if (arp.senderIp !== 0) this.neighbours.set(arp.senderIp, arp.senderMac);
    if (arp.op !== ARP_REQUEST || !this.own(arp.targetIp)) return;
    this.emit(arp.senderMac, ETHERTYPE_ARP, buildArp({ op: ARP_REPLY, senderMac: this.mac, senderIp: arp.targetIp, targetMac: arp.senderMac, targetIp: arp.senderIp }));
  }

  private onIpv4(srcMac: Mac, bytes: Uint8Array): void {
    const packet = parseIpv4(bytes);
    if (packet.fragment) {
      // Guests send with DF and a 1500-byte MTU, so fragments only come from odd tools: refused, counted.
      this.counters.fragments++;
      return;
    }
    if (this.inSegment(packet.src)) {
      this.neighbours.set(packet.src, srcMac);
      // A guest restored from a saved state keeps the lease an earlier stack gave it: record it, so DHCP
      // never hands the same address to another MAC.
      this.leases.adopt(srcMac, packet.src);
    }
    if (packet.protocol === PROTO_UDP) this.onUdp(srcMac, packet);
    else if (packet.protocol === PROTO_TCP && (!this.inSegment(packet.dst) || this.own(packet.dst))) this.tcp.receive(packet.src, packet.dst, packet.payload);
    else if (packet.protocol === PROTO_ICMP && this.own(packet.dst)) this.onIcmp(srcMac, packet);
    else this.counters.unhandled++;
  }

  private inSegment(ip: Ipv4): boolean {
    return (ip & this.netmask) === this.network;
  }

  private onIcmp(srcMac: Mac, packet: Ipv4Packet): void {
    const icmp = parseIcmp(packet.payload);
    if (icmp.type !== ICMP_ECHO_REQUEST) {
      this.counters.unhandled++;
      return;
    }
    this.emitIp(srcMac, packet.dst, packet.src, PROTO_ICMP, buildIcmp(ICMP_ECHO_REPLY, 0, icmp.body));
  }

  private onUdp(srcMac: Mac, packet: Ipv4Packet): void {
    const udp = parseUdp(packet.payload, packet.src, packet.dst);
    if (udp.dstPort === DHCP_SERVER_PORT && (packet.dst === BROADCAST_IP || this.own(packet.dst))) {
      this.onDhcp(srcMac, parseDhcp(udp.payload));
    } else if (udp.dstPort === DNS_PORT && (this.own(packet.dst) || !this.inSegment(packet.dst))) {
      // Any server address: `nslookup name 8.8.8.8` is answered here too, as slirp does.
      const reply = (bytes: Uint8Array): void => this.emitIp(srcMac, packet.dst, packet.src, PROTO_UDP, buildUdp(packet.dst, packet.src, DNS_PORT, udp.srcPort, bytes));
      const query = parseDnsQuery(udp.payload);
      const local = this.answerLocally(query);
      if (local) reply(local);
      else if (this.resolver) this.resolveOutside(query, udp.payload, reply);
      else reply(this.answerStandIn(query));
    } else if (this.udp && (!this.inSegment(packet.dst) || packet.dst === this.gateway)) {
      // The gateway is the user's machine for UDP too; the transport maps it as it does for TCP.
      this.forwardUdp(packet.src, udp.srcPort, packet.dst, udp.dstPort, udp.payload);
    } else {
      this.counters.unhandled++;
    }
  }

  /** The hosts table's answer, or a refusal of what no resolver should see; undefined to ask further. */
  private answerLocally(query: DnsQuery): Uint8Array | undefined {
    const question = query.questions[0];
    if (query.questions.length !== 1 || !question || (query.flags & 0x7800) !== 0) return buildDnsResponse(query, RCODE_NOTIMP);
    const ip = this.hosts.get(question.name);
    if (ip === undefined) return undefined;
    // A name we know has no AAAA record: an empty answer, not NXDOMAIN, so the client tries A.
    return buildDnsResponse(query, RCODE_OK, question.type === TYPE_A ? [ip] : []);
  }

  private answerStandIn(query: DnsQuery): Uint8Array {
    const question = query.questions[0];
    const ip = question ? this.standIn(question.name) : undefined;
    if (!question || ip === undefined) return buildDnsResponse(query, RCODE_NXDOMAIN);
    return buildDnsResponse(query, RCODE_OK, question.type === TYPE_A ? [ip] : []);
  }

  /** Asks the outside resolver; if it fails, a stand-in or NXDOMAIN answers at once rather than a guest timeout. */
  private resolveOutside(query: DnsQuery, raw: Uint8Array, reply: (bytes: Uint8Array) => void): void {
    const resolver = this.resolver;
    if (!resolver) return;
    resolver(raw.slice()).then(
      (answer) => reply(answer),
      () => {
        this.counters.dnsFailures++;
        reply(this.answerStandIn(query));
      },
    );
  }

  /** One NAT flow per (guest address, guest port, target): replies come back from the target's address. */
  private forwardUdp(src: Ipv4, srcPort: number, dst: Ipv4, dstPort: number, payload: Uint8Array): void {
    const udp = this.udp;
    if (!udp) return;
    const key = `${src}:${srcPort}>${dst}:${dstPort}`;
    const now = Date.now();
    let flow = this.udpFlows.get(key);
    if (!flow) {
      this.expireUdp(now);
      if (this.udpFlows.size >= UDP_MAX_FLOWS) {
        this.counters.unhandled++;
        return;
      }
      const target = { ip: ipToString(dst), port: dstPort, hostname: this.names.get(dst) };
      const created: UdpFlow = { lastUsed: now, outside: Promise.resolve(undefined) };
      created.outside = udp(target, {
        datagram: (bytes) => {
          created.lastUsed = Date.now();
          this.toGuest(dst, src, PROTO_UDP, buildUdp(dst, src, dstPort, srcPort, bytes));
        },
        error: () => {
          if (this.udpFlows.get(key) === created) this.udpFlows.delete(key);
        },
      }).catch(() => {
        if (this.udpFlows.get(key) === created) this.udpFlows.delete(key);
        return undefined;
      });
      flow = created;
      this.udpFlows.set(key, flow);
    }
    flow.lastUsed = now;
    const bytes = payload.slice();
    void flow.outside.then((outside) => outside?.send(bytes));
  }

  private expireUdp(now: number): void {
    for (const [key, flow] of this.udpFlows) {
      if (now - flow.lastUsed < UDP_IDLE_MS) continue;
      this.udpFlows.delete(key);
      void flow.outside.then((outside) => outside?.close());
    }
  }

  /** Open UDP flows (for the UI and tests). */
  get udpFlowCount(): number {
    return this.udpFlows.size;
  }

  /** Every DHCP lease and adopted address, for the UI and the preview. */
  leaseList(): LeaseInfo[] {
    return this.leases.entries().map(([mac, ip]) => ({ mac, ip: ipToString(ip) }));
  }

  /**
   * The leases a saved state's guests hold, recorded when it was saved: a restored guest keeps its address
   * without renewing it (a renewal forks the guest's DHCP hook just when the user's first command runs).
   * Ones that clash with a lease already held, or lie outside the range, are left out. A lease also
   * names the guest's MAC, so the stack can reach it (a port forward) before it has heard from it.
   */
  restoreLeases(leases: readonly LeaseInfo[]): void {
    for (const lease of leases) {
      const mac = parseMac(lease.mac);
      const ip = parseIp(lease.ip);
      this.leases.adopt(mac, ip);
      if (this.leases.leaseOf(mac) === ip && !this.neighbours.has(ip)) this.neighbours.set(ip, mac);
    }
  }

  /** The address leased to `mac` ("52:54:00:12:34:56"), else one it was seen using (a static setup). */
  leaseOf(mac: string): string | undefined {
    const wanted = parseMac(mac);
    let ip = this.leases.leaseOf(wanted);
    if (ip === undefined) for (const [address, seen] of this.neighbours) if (this.inSegment(address) && macEquals(seen, wanted)) ip = address;
    return ip === undefined ? undefined : ipToString(ip);
  }

  /** The stand-in address for a name (see NetServices.nameAddresses), the same one each time. */
  private standIn(name: string): Ipv4 | undefined {
    if (!this.nameAddresses || !/^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(name)) return undefined;
    const known = this.hosts.get(name);
    if (known !== undefined) return known;
    // Reused round-robin once the range is spent; a guest holding a very old answer then reaches a newer name.
    const ip = STAND_IN_FIRST + (this.nextStandIn++ % STAND_IN_COUNT);
    const previous = this.names.get(ip);
    if (previous !== undefined) this.hosts.delete(previous);
    this.hosts.set(name, ip);
    this.names.set(ip, name);
    return ip;
  }

  private onDhcp(srcMac: Mac, request: DhcpMessage): void {
    if (request.op !== 1) return;
    const type = request.options.get(OPT_MESSAGE_TYPE)?.[0];
    const client = request.chaddr;
    if (type === DHCPRELEASE) {
      this.leases.release(client);
      return;
    }
    let replyType: number;
    let address: Ipv4 | undefined;
    if (type === DHCPDISCOVER) {
      address = this.leases.offer(client, optionIp(request.options.get(OPT_REQUESTED_IP)));
      if (address === undefined) return; // the pool is exhausted: stay silent, as servers do
      replyType = DHCPOFFER;
    } else if (type === DHCPREQUEST) {
      const serverId = optionIp(request.options.get(OPT_SERVER_ID));
      if (serverId !== undefined && serverId !== this.gateway) return; // the client chose another server
      const wanted = optionIp(request.options.get(OPT_REQUESTED_IP)) ?? request.ciaddr;
      const ok = wanted !== 0 && this.leases.bind(client, wanted);
      replyType = ok ? DHCPACK : DHCPNAK;
      address = ok ? wanted : undefined;
    } else {
      this.counters.unhandled++;
      return;
    }
    const options = new Map<number, Uint8Array>([[OPT_MESSAGE_TYPE, new Uint8Array([replyType])], [OPT_SERVER_ID, ipOption(this.gateway)]]);
    if (address !== undefined) {
      options.set(OPT_LEASE_TIME, u32Option(this.config.leaseSeconds));
      options.set(OPT_SUBNET_MASK, ipOption(this.netmask));
      options.set(OPT_ROUTER, ipOption(this.gateway));
      options.set(OPT_DNS, ipOption(this.dns));
    }
    const reply = buildDhcp({ op: 2, xid: request.xid, flags: request.flags, ciaddr: 0, yiaddr: address ?? 0, siaddr: this.gateway, giaddr: 0, chaddr: client, options });
    // The client has no address yet: broadcast at the IP layer, unicast to its MAC (as slirp does).
    this.emitIp(srcMac, this.gateway, BROADCAST_IP, PROTO_UDP, buildUdp(this.gateway, BROADCAST_IP, DHCP_SERVER_PORT, DHCP_CLIENT_PORT, reply));
  }

  private emitIp(dstMac: Mac, src: Ipv4, dst: Ipv4, protocol: number, payload: Uint8Array): void {
    this.emit(dstMac, ETHERTYPE_IPV4, buildIpv4(src, dst, protocol, payload));
  }

  private emit(dstMac: Mac, type: number, payload: Uint8Array): void {
    this.counters.sent++;
    this.send(buildEthernet(dstMac, this.mac, type, payload));
  }

  /** The MAC a guest at `ip` last used, if any (for NAT replies and port forwards). */
  neighbour(ip: Ipv4): Mac | undefined {
    return this.neighbours.get(ip);
  }
}
