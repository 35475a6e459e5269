// HTTP/1.1 to a server inside the guest, over a TCP connection the stack opens from the gateway: what the
// preview URL (/guest/<port>/...) and port forwards use. One request per connection (Connection: close).
import { concatBytes, latin1Bytes, ResponseParser, startRequest, type HeaderList } from "./http1.ts";
import type { OutsideStream, StreamSink } from "./transport.ts";

export interface GuestRequest {
  method: string;
  /** Origin-form target inside the guest server, e.g. "/index.html?x=1". */
  target: string;
  headers: HeaderList;
  body?: Uint8Array;
}

export interface GuestResponse {
  status: number;
  reason: string;
  headers: HeaderList;
  body: Uint8Array;
}

/** Opens a connection to the guest; the stack's connectToGuest, bound to an address. */
export type GuestConnect = (port: number, outside: OutsideStream) => Promise<StreamSink>;

/** Requests hop-by-hop and framing headers the browser sent that must not reach the guest server. */
const DROP = new Set(["connection", "keep-alive", "transfer-encoding", "content-length", "upgrade", "te", "trailer", "host"]);

export class GuestHttpError extends Error {}

/**
 * Sends one request to `port` in the guest and collects the whole response. `maxBody` bounds memory (a
 * preview is for pages, not for streaming downloads); `timeoutMs` bounds a server that never answers.
 */
export function guestHttp(connect: GuestConnect, port: number, request: GuestRequest, host: string, { timeoutMs = 30_000, maxBody = 64 << 20 } = {}): Promise<GuestResponse> {
  return new Promise<GuestResponse>((resolve, reject) => {
    const parser = new ResponseParser();
    parser.expectResponse(request.method);
    const body: Uint8Array[] = [];
    let bodyBytes = 0;
    let head: { status: number; reason: string; headers: HeaderList } | undefined;
    let settled = false;
    let sink: StreamSink | undefined;
    const finish = (error?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) {
        sink?.error(error.message);
        reject(error);
      } else if (head) {
        sink?.end();
        resolve({ ...head, body: concatBytes(body) });
      }
    };
    const timer = setTimeout(() => finish(new GuestHttpError(`the guest server on port ${port} did not answer within ${timeoutMs / 1000} s`)), timeoutMs);
    const onEvents = (events: ReturnType<ResponseParser["push"]>): void => {
      for (const event of events) {
        if (event.type === "head") {
          if (event.head.status >= 100 && event.head.status < 200) continue; // interim: the final head follows
          head = { status: event.head.status, reason: event.head.reason, headers: event.head.headers };
        } else if (event.type === "body") {
          bodyBytes += event.bytes.length;
          if (bodyBytes > maxBody) return finish(new GuestHttpError(`the response from port ${port} is larger than ${maxBody} bytes`));
          body.push(event.bytes.slice());
        } else if (event.type === "end") {
          if (head) return finish();
        } else {
          return finish(new GuestHttpError(`the guest server on port ${port} sent a malformed response: ${event.error.message}`));
        }
      }
    };
    const outside: OutsideStream = {
      write: (bytes) => onEvents(parser.push(bytes)),
      end: () => {
        onEvents(parser.finish());
        if (!settled) finish(new GuestHttpError(`the guest server on port ${port} closed the connection without a complete response`));
      },
      abort: () => finish(new GuestHttpError(`the connection to port ${port} in the guest was reset`)),
      buffered: 0,
      pause: () => {},
      resume: () => {},
    };
    connect(port, outside).then(
      (opened) => {
        sink = opened;
        if (settled) return opened.error("cancelled");
        const headers = request.headers.filter(([name]) => !DROP.has(name.toLowerCase()));
        const { head: bytes, body: encoder } = startRequest({ method: request.method, target: request.target, headers, host, body: request.body?.length, close: true });
        opened.data(bytes);
        if (request.body?.length) opened.data(encoder.chunk(request.body));
      },
      (err: unknown) => finish(new GuestHttpError(`nothing listens on port ${port} in the guest (${err instanceof Error ? err.message : String(err)})`)),
    );
  });
}

/** A plain-text response the preview shows when the guest cannot answer. */
export function errorResponse(status: number, message: string): GuestResponse {
  return { status, reason: "", headers: [["Content-Type", "text/plain; charset=utf-8"]], body: latin1Bytes(message.replace(/[^\x20-\x7e\n]/g, "?") + "\n") };
}
