import { describe, expect, it } from "vitest";
import { guestHttp, type GuestConnect } from "./guest-http.ts";
import { latin1Bytes, RequestParser, type RequestHead } from "./http1.ts";
import type { StreamSink } from "./transport.ts";

/** A server in the guest, at the byte-stream level: it parses the request and writes `reply(head, body)`. */
function server(reply: (head: RequestHead, body: string) => string | undefined, { refuse = false, split = 7 } = {}): { connect: GuestConnect; ended: () => boolean } {
  let ended = false;
  const connect: GuestConnect = (port, outside) => {
    if (refuse) return Promise.reject(new Error("connection refused"));
    const parser = new RequestParser();
    let head: RequestHead | undefined;
    let body = "";
    const sink: StreamSink = {
      data: (bytes) => {
        for (const event of parser.push(bytes)) {
          if (event.type === "head") head = event.head;
          else if (event.type === "body") body += new TextDecoder().decode(event.bytes);
          else if (event.type === "end" && head) {
            const text = reply(head, body);
            if (text === undefined) return;
            // Delivered in small pieces, as TCP would.
            const bytesOut = latin1Bytes(text);
            for (let i = 0; i < bytesOut.length; i += split) outside.write(bytesOut.subarray(i, i + split));
            outside.end();
          }
        }
      },
      end: () => {
        ended = true;
      },
      error: () => {},
      drain: () => {},
    };
    void port;
    return Promise.resolve(sink);
  };
  return { connect, ended: () => ended };
}

describe("guestHttp", () => {
  it("sends the request with the guest's Host and no hop-by-hop headers, and collects a chunked response", async () => {
    const seen: string[] = [];
    const { connect, ended } = server((head, body) => {
      seen.push(`${head.method} ${head.target} host=${head.headers.find(([n]) => n === "Host")?.[1] ?? ""} conn=${head.headers.find(([n]) => n === "Connection")?.[1] ?? ""} keep=${head.headers.some(([n]) => n === "Keep-Alive")} body=${body}`);
      return "HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
    });
    const response = await guestHttp(connect, 80, { method: "POST", target: "/form?x=1", headers: [["Keep-Alive", "5"], ["X-Test", "1"]], body: new TextEncoder().encode("a=b") }, "10.0.2.16:80");
    expect(seen).toEqual(["POST /form?x=1 host=10.0.2.16:80 conn=close keep=false body=a=b"]);
    expect(response.status).toBe(201);
    expect(new TextDecoder().decode(response.body)).toBe("hello world");
    expect(ended()).toBe(true);
  });

  it("reads a body delimited by the end of the connection (busybox httpd with HTTP/1.0)", async () => {
    const { connect } = server(() => "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n<h1>in UML</h1>");
    const response = await guestHttp(connect, 80, { method: "GET", target: "/", headers: [] }, "uml");
    expect(new TextDecoder().decode(response.body)).toBe("<h1>in UML</h1>");
  });

  it("says clearly when nothing listens, when the answer is not HTTP, and when the server is silent", async () => {
    await expect(guestHttp(server(() => "", { refuse: true }).connect, 81, { method: "GET", target: "/", headers: [] }, "uml")).rejects.toThrow(/nothing listens on port 81/);
    await expect(guestHttp(server(() => "SSH-2.0-dropbear\r\n").connect, 22, { method: "GET", target: "/", headers: [] }, "uml")).rejects.toThrow(/malformed response/);
    await expect(guestHttp(server(() => undefined).connect, 80, { method: "GET", target: "/", headers: [] }, "uml", { timeoutMs: 50 })).rejects.toThrow(/did not answer within/);
  });
});
