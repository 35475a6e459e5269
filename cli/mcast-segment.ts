// The Node runner's side of UML's mcast transport (eth0=mcast,...): each Ethernet frame is one UDP
// datagram to a multicast group. A NetStack joins the segment as the gateway. TTL 0 keeps every frame
// on this machine.
import dgram from "node:dgram";
import { NetStack, DEFAULT_NET_CONFIG, type NetConfig, type NetServices } from "../workers/net/stack.ts";
import { macEquals, parseMac } from "../workers/net/wire.ts";

export interface McastSegment {
  stack: NetStack;
  /** The UML command-line word that puts an interface on this segment. */
  umlDevice(name: string, mac: string): string;
  close(): Promise<void>;
}

export async function startMcastSegment(group: string, port: number, config: NetConfig = DEFAULT_NET_CONFIG, services: NetServices = {}): Promise<McastSegment> {
  const socket = dgram.createSocket({ type: "udp4", reuseAddr: true });
  const stackMac = parseMac(config.mac);
  const stack = new NetStack((frame) => socket.send(frame, port, group), config, services);
  socket.on("message", (frame) => {
    // Multicast loops our own frames back to us; only the guests' frames are for the stack.
    if (frame.length >= 12 && macEquals(frame.subarray(6, 12), stackMac)) return;
    stack.receive(new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength));
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(port, () => {
      socket.setMulticastTTL(0);
      socket.setMulticastLoopback(true);
      socket.addMembership(group);
      resolve();
    });
  });
  return {
    stack,
    umlDevice: (name, mac) => `${name}=mcast,${mac},${group},${port},0`,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
