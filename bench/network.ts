// The network figures: a download and request latency inside UML from a loopback HTTP server, through each
// transport of the page (fetch, the Wisp relay), beside the same download through v86's own fetch backend
// (the peer) on the host Linux. Measured in Chromium through the real page.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { randomBytes } from "node:crypto";
import type { Shell } from "./micro.ts";

export const DOWNLOAD_BYTES = 10 * 1024 * 1024;
const REQUESTS = 20;

export interface LoopbackServer {
  port: number;
  close(): Promise<void>;
}

/** A loopback HTTP server with a 10 MiB body and a tiny one; CORS-open, so fetch() from the page may read it. */
export async function startLoopbackServer(): Promise<LoopbackServer> {
  const big = randomBytes(DOWNLOAD_BYTES);
  const server: Server = createServer((req, res) => {
    const headers = { "access-control-allow-origin": "*", "content-type": "application/octet-stream" };
    if (req.url === "/big") res.writeHead(200, { ...headers, "content-length": String(big.length) }).end(big);
    else res.writeHead(200, { ...headers, "content-length": "3" }).end("ok\n");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface NetworkSample {
  /** MiB/s of the 10 MiB download. */
  downloadMiBps: number;
  /** One small HTTP request on a new connection (setup, request, response), without wget's start-up. */
  requestMs: number;
}

/** busybox's `time` prints "real 0m 3.80s". */
function realSeconds(output: string): number {
  const m = /real\s+(\d+)m\s*([\d.]+)s/.exec(output);
  if (!m) throw new Error(`no timing in: ${output.slice(-300)}`);
  return Number(m[1]) * 60 + Number(m[2]);
}

/** Runs the figures in `shell` against `base`, e.g. "http://10.0.2.2:8123". */
export async function measureNetwork(shell: Shell, base: string): Promise<NetworkSample> {
  const download = await shell.run(`time wget -q -O /dev/null ${base}/big 2>&1`, 300_000);
  // One wget fetching N URLs opens N connections in turn: the difference from one URL is N-1 requests.
  const fetchMany = (n: number): string => `time wget -q -O /dev/null ${Array.from({ length: n }, () => `${base}/small`).join(" ")} 2>&1`;
  const one = await shell.run(fetchMany(1), 300_000);
  const many = await shell.run(fetchMany(REQUESTS + 1), 300_000);
  return {
    downloadMiBps: DOWNLOAD_BYTES / 1048576 / realSeconds(download),
    requestMs: ((realSeconds(many) - realSeconds(one)) * 1000) / REQUESTS,
  };
}
