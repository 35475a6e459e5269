import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDnsResponse, parseDnsQuery, RCODE_OK } from "./dns.ts";
import { dohResolver } from "./doh.ts";
import { parseIp } from "./wire.ts";

// node:http by a name TypeScript does not resolve, so @types/node stays out of workers/ (see fetch-transport.test.ts).
interface Request extends AsyncIterable<Uint8Array<ArrayBuffer>> {
  method?: string;
  url?: string;
  headers: Record<string, string | string[] | undefined>;
}
interface Response {
  writeHead(status: number, headers?: Record<string, string>): { end(body?: Uint8Array): void };
}
interface Server {
  listen(port: number, host: string, listener: () => void): void;
  address(): { port: number };
  close(listener?: () => void): void;
}
const http = (await import(/* @vite-ignore */ "node:http" as string)) as { createServer(handler: (req: Request, res: Response) => void): Server };

// A real HTTP server on loopback playing the DoH endpoint: it parses the query and answers 192.0.2.1.
let server: Server;
let base = "";
const seen: string[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    void (async () => {
      const chunks: Uint8Array<ArrayBuffer>[] = [];
      for await (const chunk of req) chunks.push(chunk);
      seen.push(`${req.method ?? ""} ${req.headers["content-type"] ?? ""}`);
      if (req.url === "/broken") {
        res.writeHead(500).end();
        return;
      }
      const query = new Uint8Array(await new Blob(chunks).arrayBuffer());
      const reply = req.url === "/wrong-id" ? buildDnsResponse({ ...parseDnsQuery(query), id: 1 }, RCODE_OK, [parseIp("192.0.2.1")]) : buildDnsResponse(parseDnsQuery(query), RCODE_OK, [parseIp("192.0.2.1")]);
      res.writeHead(200, { "content-type": "application/dns-message" }).end(reply);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${server.address().port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const query = new Uint8Array([0xab, 0xcd, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 0x77, 0x77, 0x77, 7, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 3, 0x6f, 0x72, 0x67, 0, 0, 1, 0, 1]);

describe("dohResolver", () => {
  it("POSTs the raw query and returns the server's answer", async () => {
    const reply = await dohResolver(fetch, `${base}/dns-query`)(query);
    expect(seen.at(-1)).toBe("POST application/dns-message");
    expect([reply[0], reply[1]]).toEqual([0xab, 0xcd]);
    expect(Array.from(reply.slice(-4))).toEqual([192, 0, 2, 1]);
  });

  it("rejects an HTTP error and a reply for another query", async () => {
    await expect(dohResolver(fetch, `${base}/broken`)(query)).rejects.toThrow(/HTTP 500/);
    await expect(dohResolver(fetch, `${base}/wrong-id`)(query)).rejects.toThrow(/does not match/);
  });
});
