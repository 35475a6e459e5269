// The Node runner's TCP transport: a guest connection becomes a real socket from this machine. As in
// slirp, the gateway address (10.0.2.2) means this machine's own loopback.
import net from "node:net";
import type { OutsideStream, TcpConnector } from "../workers/net/transport.ts";

export interface NodeTcpOptions {
  /** The guest-side address that stands for this machine (default 10.0.2.2). */
  hostAddress?: string;
  /** Whether other destinations may be reached directly (default: only the host address). */
  allowOutside?: boolean;
}

export function nodeTcpConnector(options: NodeTcpOptions = {}): TcpConnector {
  const hostAddress = options.hostAddress ?? "10.0.2.2";
  return (target, sink) =>
    new Promise<OutsideStream>((resolve, reject) => {
      if (target.ip !== hostAddress && !options.allowOutside) {
        reject(new Error(`${target.ip} is not reachable from this runner (only ${hostAddress}, this machine)`));
        return;
      }
      const socket = net.connect({ host: target.ip === hostAddress ? "127.0.0.1" : target.ip, port: target.port, allowHalfOpen: true });
      socket.setNoDelay(true);
      let open = false;
      socket.once("connect", () => {
        open = true;
        resolve({
          write: (bytes) => {
            socket.write(bytes);
          },
          end: () => socket.end(),
          abort: () => socket.resetAndDestroy(),
          // The stack's receive window shrinks by what the socket has not sent yet.
          get buffered() {
            return socket.writableLength;
          },
          pause: () => socket.pause(),
          resume: () => socket.resume(),
        });
      });
      socket.on("data", (data: Buffer) => sink.data(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)));
      socket.on("drain", () => sink.drain());
      socket.on("end", () => sink.end());
      socket.on("error", (err) => (open ? sink.error(err.message) : reject(err)));
      socket.on("close", (hadError) => {
        if (open && hadError) sink.error("connection closed");
      });
    });
}
