// Which transport carries a guest TCP connection: a service the page provides for that address and
// port, else the relay (any TCP) when one is set, else fetch (plain HTTP, allow-listed). The gateway
// address stands for the user's own machine, so it becomes the relay's loopback.
import type { TcpConnector, TcpTarget } from "./transport.ts";

export interface RouteOptions {
  /** The stack's gateway address, e.g. "10.0.2.2": "the user's machine". */
  gateway: string;
  /** Any TCP through the Wisp relay; absent when no relay is configured. */
  relay?: TcpConnector;
  /** HTTP through fetch(); it maps the gateway to http://localhost itself. */
  fetch: TcpConnector;
  /** Services the page provides, by "ip:port" (e.g. "10.0.2.2:9999"); they win over the transports. */
  services?: ReadonlyMap<string, TcpConnector>;
}

/** The relay's name for the user's machine: its own loopback. */
export const RELAY_LOOPBACK = "127.0.0.1";

export function routeTcp(options: RouteOptions): TcpConnector {
  return (target, sink) => {
    const service = options.services?.get(`${target.ip}:${target.port}`);
    if (service) return service(target, sink);
    if (options.relay) {
      const toRelay: TcpTarget = target.ip === options.gateway ? { ip: RELAY_LOOPBACK, port: target.port } : target;
      return options.relay(toRelay, sink);
    }
    return options.fetch(target, sink);
  };
}
