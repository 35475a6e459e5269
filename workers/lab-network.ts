// The lab's network in the worker: the pure stack plus the browser's transports (a Wisp relay over
// WebSocket, fetch, DNS-over-HTTPS), chosen from the page's NetworkOptions. Worker globals live here,
// not in workers/net/.
import type { LoopbackConnection, NetworkOptions, NetworkStatus, StreamPortMessage } from "./api.ts";
import { dohResolver } from "./net/doh.ts";
import { fetchConnector, isAllowed, type AllowRule } from "./net/fetch-transport.ts";
import { errorResponse, guestHttp, type GuestRequest, type GuestResponse } from "./net/guest-http.ts";
import { RELAY_LOOPBACK, routeTcp } from "./net/router.ts";
import { DEFAULT_NET_CONFIG, NetStack } from "./net/stack.ts";
import type { DnsResolver, OutsideStream, StreamSink, TcpConnector, UdpConnector } from "./net/transport.ts";
import { dnsOverWisp, WispClient } from "./net/wisp.ts";

/** UML's NIC (umlab-uml gives it this MAC), so its lease is found among the others. */
export const UML_MAC = "52:54:00:12:34:56";

/** IP literals in private, loopback and link-local ranges: fetch must not reach the user's intranet. */
const PRIVATE_LITERAL = /^(10|127)\.|^192\.168\.|^169\.254\.|^172\.(1[6-9]|2\d|3[01])\.|^0\.|^\[|^localhost$/;

/** By default fetch may reach any public name or address, and the user's machine through the gateway. */
export const DEFAULT_FETCH_ALLOW = (gateway: string) => (host: string): boolean => host === gateway || !PRIVATE_LITERAL.test(host);

/** Tries each resolver in turn; the last failure rejects. */
function firstAnswer(resolvers: readonly DnsResolver[]): DnsResolver | undefined {
  if (resolvers.length === 0) return undefined;
  return async (query) => {
    let last: unknown = new Error("no resolver");
    for (const resolve of resolvers) {
      try {
        return await resolve(query);
      } catch (err) {
        last = err;
      }
    }
    throw last;
  };
}

/** Posts one stream message, transferring the bytes (never copying on the hot path). */
function post(port: MessagePort, message: StreamPortMessage): void {
  if (message.type === "data") {
    const own = message.data.byteOffset === 0 && message.data.byteLength === message.data.buffer.byteLength ? message.data : message.data.slice();
    port.postMessage({ type: "data", data: own } satisfies StreamPortMessage, [own.buffer]);
  } else {
    port.postMessage(message);
  }
}

/** The stack's view of a connection whose other end is a MessagePort. */
function portAsOutside(port: MessagePort): OutsideStream {
  return {
    write: (bytes) => post(port, { type: "data", data: bytes }),
    end: () => post(port, { type: "end", data: null }),
    abort: () => {
      post(port, { type: "error", data: "connection reset" });
      port.close();
    },
    buffered: 0,
    pause: () => {},
    resume: () => {},
  };
}

/** Messages from the port drive the stack's side of the connection. */
function drivePort(port: MessagePort, sink: StreamSink): void {
  port.onmessage = (event: MessageEvent<StreamPortMessage>) => {
    const message = event.data;
    if (message.type === "data") sink.data(message.data);
    else if (message.type === "end") sink.end();
    else {
      sink.error(message.data);
      port.close();
    }
  };
}

export class LabNetwork {
  readonly stack: NetStack;
  /** Loopback services the page provides, by "10.0.2.2:port" (see EmulatorApi.serveLoopback). */
  private readonly services = new Map<string, TcpConnector>();
  private readonly relay: WispClient | undefined;
  private readonly options: NetworkOptions;

  constructor(options: NetworkOptions = {}) {
    this.options = options;
    const gateway = DEFAULT_NET_CONFIG.gateway;
    this.relay = options.relayUrl ? new WispClient({ url: options.relayUrl, WebSocket }) : undefined;
    const rules: AllowRule[] | undefined = options.fetchAllow?.map((host) => ({ host }));
    const allowFetch = (host: string, port: number): boolean => (rules ? host === gateway || isAllowed(rules, host, port) : DEFAULT_FETCH_ALLOW(gateway)(host));
    const viaFetch: TcpConnector = fetchConnector({
      fetch: (url, init) => fetch(url, init),
      allow: allowFetch,
      // The user's machine is "localhost" to the browser, as 10.0.2.2 is to the guest (slirp's convention).
      rewrite: (target) => (target.ip === gateway ? `http://localhost:${target.port}` : undefined),
    });
    const relay = this.relay;
    // UDP to the gateway reaches the relay's loopback, as TCP does (router.ts).
    const udp: UdpConnector | undefined = relay ? (target, sink) => relay.udp(target.ip === gateway ? { ip: RELAY_LOOPBACK, port: target.port } : target, sink) : undefined;
    const resolvers: DnsResolver[] = [];
    if (relay && options.relayDns) {
      const [host = "", port = "53"] = options.relayDns.split(":");
      resolvers.push(dnsOverWisp((target, sink) => relay.udp(target, sink), { host, port: Number(port) }));
    }
    if (options.dohUrl) resolvers.push(dohResolver((url, init) => fetch(url, init), options.dohUrl));
    const resolve = firstAnswer(resolvers);
    this.stack = new NetStack(undefined, { ...DEFAULT_NET_CONFIG, hosts: { ...DEFAULT_NET_CONFIG.hosts, ...options.hosts } }, {
      tcp: routeTcp({ gateway, fetch: viaFetch, services: this.services, ...(relay ? { relay: (target, sink) => relay.tcp(target, sink) } : {}) }),
      ...(udp ? { udp } : {}),
      ...(resolve ? { resolve } : {}),
      // Names nobody resolved get stand-in addresses, so fetch and the relay still connect by name.
      nameAddresses: true,
    });
  }

  status(): NetworkStatus {
    const leases = this.stack.leaseList();
    const uml = leases.find((lease) => lease.mac === UML_MAC)?.ip;
    const relay = this.relay?.status();
    return {
      transport: this.relay ? "relay" : "fetch",
      ...(this.options.relayUrl && relay ? { relay: { url: this.options.relayUrl, state: relay.state, streams: relay.streams, ...(relay.error ? { error: relay.error } : {}) } } : {}),
      leases: leases.map((lease) => ({ ...lease, owner: lease.mac === UML_MAC ? "uml" : "host" })),
      ...(uml ? { umlAddress: uml } : {}),
      tcp: { ...this.stack.tcp.counters },
      frames: { ...this.stack.counters },
    };
  }

  /** One HTTP request to a server in UML (the preview); an error page when UML has no address or port. */
  async guestHttp(port: number, request: GuestRequest): Promise<GuestResponse> {
    const ip = this.stack.leaseOf(UML_MAC);
    if (!ip) return errorResponse(503, "UML has no network address yet (is eth0 up? try: udhcpc -i eth0)");
    try {
      return await guestHttp((p, outside) => this.stack.connectToGuest(ip, p, outside), port, request, port === 80 ? ip : `${ip}:${port}`);
    } catch (err) {
      return errorResponse(502, err instanceof Error ? err.message : String(err));
    }
  }

  /** A port forward into UML: the returned port carries the connection's bytes both ways. */
  async forwardPort(port: number): Promise<MessagePort> {
    const ip = this.stack.leaseOf(UML_MAC);
    if (!ip) throw new Error("UML has no network address yet (is eth0 up? try: udhcpc -i eth0)");
    const channel = new MessageChannel();
    const sink = await this.stack.connectToGuest(ip, port, portAsOutside(channel.port1)).catch((err: unknown) => {
      channel.port1.close();
      throw new Error(`nothing listens on port ${port} in UML (${err instanceof Error ? err.message : String(err)})`);
    });
    drivePort(channel.port1, sink);
    return channel.port2;
  }

  /** Guest connections to 10.0.2.2:`port` go to the page's `listener` instead of the user's machine. */
  serveLoopback(port: number, listener: MessagePort): void {
    this.services.set(`${DEFAULT_NET_CONFIG.gateway}:${port}`, (_target, sink) => {
      const channel = new MessageChannel();
      drivePort(channel.port1, sink);
      listener.postMessage({ type: "connection", port } satisfies LoopbackConnection, [channel.port2]);
      return Promise.resolve(portAsOutside(channel.port1));
    });
  }

  close(): void {
    this.stack.tcp.resetAll();
    this.relay?.close();
  }
}
