// The seam between the stack's TCP NAT and the outside world. The stack terminates each guest
// connection itself; a transport carries the byte stream on (fetch, a Wisp relay, a Node socket, a
// service the page provides). Transports never see packets, only ordered bytes.

/** Where a guest connection was going, as the guest addressed it. */
export interface TcpTarget {
  /** Dotted IPv4, e.g. "10.0.2.2" or "93.184.215.14". */
  ip: string;
  port: number;
  /** The name the guest resolved to `ip` through our DNS, when it did (fetch and Wisp connect by name). */
  hostname?: string;
}

/** The stack's side of an outside stream: what the transport calls as things happen outside. */
export interface StreamSink {
  /** Bytes from the outside peer, in order, toward the guest. */
  data(bytes: Uint8Array): void;
  /** The outside peer finished sending (its FIN). */
  end(): void;
  /** The outside stream failed or was refused; the guest gets a RST. */
  error(reason: string): void;
  /** The transport's outgoing buffer drained below its limit again (see OutsideStream.buffered). */
  drain(): void;
}

/** The transport's side of an outside stream: what the stack calls as the guest sends. */
export interface OutsideStream {
  /** Bytes from the guest, in order, toward the outside peer. */
  write(bytes: Uint8Array): void;
  /** The guest finished sending (its FIN): half-close toward the peer. */
  end(): void;
  /** Tear down at once (the guest sent RST, or the stack gave up). */
  abort(): void;
  /** Bytes written but not yet taken by the outside; the stack shrinks the guest's window by this. */
  readonly buffered: number;
  /** Stop and restart calling sink.data: the guest is not reading fast enough. */
  pause(): void;
  resume(): void;
}

/**
 * Opens an outside stream for a guest's SYN. Resolves once the outside accepted (the guest's handshake
 * completes only then); rejects if it refused, so the guest sees "connection refused" (RST).
 */
export type TcpConnector = (target: TcpTarget, sink: StreamSink) => Promise<OutsideStream>;

/** A connector that refuses everything, with a reason (e.g. "no relay configured"). */
export const refuseAll = (reason: string): TcpConnector => () => Promise.reject(new Error(reason));

/** Replies for one UDP flow the guest opened, pushed by a transport. */
export interface DatagramSink {
  datagram(bytes: Uint8Array): void;
  /** The flow is over (the transport failed or closed it); the stack forgets it. */
  error(reason: string): void;
}

/** The outside end of one UDP flow (guest address and port ↔ target). */
export interface OutsideDatagrams {
  send(bytes: Uint8Array): void;
  close(): void;
}

/** Opens a UDP flow to `target`; rejects when the transport has no UDP (e.g. no relay). */
export type UdpConnector = (target: TcpTarget, sink: DatagramSink) => Promise<OutsideDatagrams>;

/** Answers one raw DNS query (the UDP payload) with a raw reply, from some resolver outside. */
export type DnsResolver = (query: Uint8Array) => Promise<Uint8Array>;
