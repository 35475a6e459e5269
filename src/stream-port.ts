// A TCP connection's bytes on a MessagePort (StreamPortMessage), from the page's side: port forwards into
// UML and loopback services the page provides to the guest.
import type { LoopbackConnection, StreamPortMessage } from "../workers/api.ts";

function send(port: MessagePort, message: StreamPortMessage): void {
  if (message.type === "data") port.postMessage(message, [message.data.buffer]);
  else port.postMessage(message);
}

/** Sends `request` then a half-close, and collects everything the other end sends until it ends. */
export function exchange(port: MessagePort, request: Uint8Array, timeoutMs = 30_000): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const parts: Uint8Array[] = [];
    const timer = setTimeout(() => finish(new Error(`no end of stream within ${timeoutMs / 1000} s`)), timeoutMs);
    const finish = (error?: Error): void => {
      clearTimeout(timer);
      port.close();
      if (error) return reject(error);
      const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) {
        out.set(p, at);
        at += p.length;
      }
      resolve(out);
    };
    port.onmessage = (event: MessageEvent<StreamPortMessage>) => {
      const message = event.data;
      if (message.type === "data") parts.push(message.data);
      else if (message.type === "end") finish();
      else finish(new Error(message.data));
    };
    send(port, { type: "data", data: request.slice() });
    send(port, { type: "end", data: null });
  });
}

/**
 * Answers each guest connection on `listener` with `answer(request)` once the guest's request head arrived
 * (a blank line) or it half-closed, then ends the connection.
 */
export function serveConnections(listener: MessagePort, answer: (request: string) => string): void {
  listener.onmessage = (event: MessageEvent<LoopbackConnection>) => {
    const connection = event.ports[0];
    if (event.data.type !== "connection" || !connection) return;
    let request = "";
    let answered = false;
    const reply = (): void => {
      if (answered) return;
      answered = true;
      send(connection, { type: "data", data: new TextEncoder().encode(answer(request)) });
      send(connection, { type: "end", data: null });
    };
    connection.onmessage = (e: MessageEvent<StreamPortMessage>) => {
      if (e.data.type === "data") {
        request += new TextDecoder().decode(e.data.data);
        if (request.includes("\r\n\r\n")) reply();
      } else if (e.data.type === "end") {
        reply();
      } else {
        connection.close();
      }
    };
  };
}
