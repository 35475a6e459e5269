// The stack against a real Linux TCP/IP stack inside the emulator: UML in v86 (restored from the
// snapshot), bridged through the host Linux to the stack, as in the browser. UML's wget reaches a
// loopback HTTP server through each transport: a direct socket (the Node runner), fetch and the relay.
import { createHash, randomBytes } from "node:crypto";
import dgram from "node:dgram";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { attachWispRelay, type WispRelay } from "../scripts/wisp-relay.ts";
import { buildDnsResponse, parseDnsQuery, RCODE_OK } from "../workers/net/dns.ts";
import { dnsOverWisp, WispClient, type WispSocketConstructor } from "../workers/net/wisp.ts";
import { parseIp } from "../workers/net/wire.ts";
import { fetchConnector } from "../workers/net/fetch-transport.ts";
import { guestHttp } from "../workers/net/guest-http.ts";
import { DEFAULT_NET_CONFIG, NetStack } from "../workers/net/stack.ts";
import type { DnsResolver, TcpConnector, UdpConnector } from "../workers/net/transport.ts";
import { startEmulatedUml, type EmulatedUml } from "./emulated-uml.ts";
import { nodeTcpConnector } from "./node-tcp.ts";

const UML_MAC = "52:54:00:12:34:56";

describe("the network inside the emulator: UML's wget through each transport", { timeout: 180_000 }, () => {
  let uml: EmulatedUml;
  let stack: NetStack;
  let server: http.Server;
  let port = 0;
  const big = randomBytes(10 * 1024 * 1024);
  const bigSha = createHash("sha256").update(big).digest("hex");
  // Which transport carries the guest's TCP (and resolves names) right now; each test picks one.
  let transport: TcpConnector = nodeTcpConnector();
  let resolver: DnsResolver = () => Promise.reject(new Error("no outside resolver"));
  let udpTransport: UdpConnector = () => Promise.reject(new Error("no UDP transport"));
  // The Wisp relay as the dev server runs it (loopback allowed), on its own loopback HTTP server.
  let relayServer: http.Server;
  let relay: WispRelay;
  let relayUrl = "";
  let relayOrigin = "";
  // A DNS server on loopback that the relay reaches over UDP: it answers every A question with 10.0.2.2.
  let dns: dgram.Socket;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (req.url === "/big") res.writeHead(200, { "content-type": "application/octet-stream", "content-length": big.length }).end(big);
      else res.writeHead(200, { "content-type": "text/plain" }).end(`hello via ${req.headers["user-agent"] ?? "?"}\n`);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
    relayServer = http.createServer();
    await new Promise<void>((resolve) => relayServer.listen(0, "127.0.0.1", resolve));
    relay = attachWispRelay(relayServer, { allowLoopback: true, log: () => undefined });
    const relayPort = (relayServer.address() as AddressInfo).port;
    relayUrl = `ws://127.0.0.1:${relayPort}/wisp/`;
    relayOrigin = `http://127.0.0.1:${relayPort}`;
    dns = dgram.createSocket("udp4");
    dns.on("message", (query, from) => dns.send(buildDnsResponse(parseDnsQuery(new Uint8Array(query)), RCODE_OK, [parseIp("10.0.2.2")]), from.port, from.address));
    await new Promise<void>((resolve) => dns.bind(0, "127.0.0.1", resolve));
    stack = new NetStack(undefined, { ...DEFAULT_NET_CONFIG, hosts: { "lab.example": "10.0.2.77" } }, {
      tcp: (target, sink) => transport(target, sink),
      resolve: (query) => resolver(query),
      udp: (target, sink) => udpTransport(target, sink),
      nameAddresses: true,
    });
    uml = await startEmulatedUml({ network: stack });
  }, 300_000);

  afterAll(async () => {
    await uml?.stop();
    relay?.close();
    dns?.close();
    await new Promise((resolve) => server?.close(resolve));
    await new Promise((resolve) => relayServer?.close(resolve));
  });

  /** sha256 and seconds of a 10 MiB download inside UML. */
  async function download(url: string): Promise<{ sha: string; seconds: number }> {
    // busybox's time prints "real 0m 3.80s" on stderr; a failed wget shows as a wrong checksum.
    const { status, output } = await uml.run(`time sh -c 'wget -q -O - ${url} | sha256sum' 2>&1`, 120_000);
    expect(status, output).toBe(0);
    const sha = /^([0-9a-f]{64})\s/m.exec(output)?.[1] ?? output;
    const time = /real\s+(\d+)m\s*([\d.]+)s/.exec(output);
    return { sha, seconds: Number(time?.[1] ?? NaN) * 60 + Number(time?.[2] ?? NaN) };
  }

  it("UML's eth0 has its own lease on the stack's segment, and DNS answers from the hosts table", async () => {
    const { output } = await uml.run("ifconfig eth0; route -n; nslookup lab.example 10.0.2.3");
    const ip = stack.leaseOf(UML_MAC);
    expect(ip).toMatch(/^10\.0\.2\.\d+$/);
    expect(output).toContain(`inet addr:${ip ?? "?"}`);
    expect(output).toMatch(/^0\.0\.0\.0\s+10\.0\.2\.2\s/m);
    expect(output).toMatch(/Address:\s+10\.0\.2\.77/);
  });

  it("direct socket: 10 MiB from the loopback server arrive intact", async () => {
    transport = nodeTcpConnector();
    const { sha, seconds } = await download(`http://10.0.2.2:${port}/big`);
    expect(sha).toBe(bigSha);
    console.log(`direct: 10 MiB in ${seconds.toFixed(2)} s (${(10 / seconds).toFixed(2)} MiB/s)`);
  });

  it("fetch transport: a page and 10 MiB through fetch() to http://localhost:<port>", async () => {
    transport = fetchConnector({ fetch: (url, init) => fetch(url, init), allow: () => true, rewrite: (t) => (t.ip === "10.0.2.2" ? `http://localhost:${t.port}` : undefined) });
    const page = await uml.run(`wget -q -O - http://10.0.2.2:${port}/`);
    expect(page.output).toMatch(/^hello via Wget/m);
    const { sha, seconds } = await download(`http://10.0.2.2:${port}/big`);
    expect(sha).toBe(bigSha);
    console.log(`fetch: 10 MiB in ${seconds.toFixed(2)} s (${(10 / seconds).toFixed(2)} MiB/s)`);
  });

  it("Wisp relay: UML's tftp gets a file over UDP, names resolve through the relay's UDP, and 10 MiB arrive through its TCP", async () => {
    // The dev server's page sends its own origin; `ws` has to be told.
    const OriginSocket: WispSocketConstructor = class extends WebSocket {
      constructor(url: string) {
        super(url, { headers: { Origin: relayOrigin } });
      }
    };
    const client = new WispClient({ url: relayUrl, WebSocket: OriginSocket });
    const dnsPort = (dns.address() as AddressInfo).port;
    resolver = dnsOverWisp(client.udp, { host: "127.0.0.1", port: dnsPort });
    // The browser's router hands the relay 10.0.2.2 as its loopback (workers/net/router.ts).
    transport = (target, sink) => client.tcp(target.ip === "10.0.2.2" ? { ip: "127.0.0.1", port: target.port } : target, sink);
    // A one-file TFTP server on loopback (RFC 1350, answering from its own port): UDP both ways through the
    // stack's UDP NAT and the relay's UDP streams, driven by busybox's tftp in UML.
    const fileText = `tftp-through-the-relay-${bigSha.slice(0, 8)}\n`;
    const tftp = dgram.createSocket("udp4");
    tftp.on("message", (packet, from) => {
      if (packet.readUInt16BE(0) !== 1) return; // only a read request starts anything; ACKs need no answer
      const data = Buffer.concat([Buffer.from([0, 3, 0, 1]), Buffer.from(fileText)]);
      tftp.send(data, from.port, from.address);
    });
    await new Promise<void>((resolve) => tftp.bind(0, "127.0.0.1", resolve));
    udpTransport = (target, sink) => client.udp(target.ip === "10.0.2.2" ? { ip: "127.0.0.1", port: target.port } : target, sink);
    try {
      const got = await uml.run(`cd /tmp && rm -f hello.txt && tftp -g -r hello.txt 10.0.2.2 ${(tftp.address() as AddressInfo).port} && cat hello.txt`);
      expect(got.status, got.output).toBe(0);
      expect(got.output).toContain(fileText);
      expect(stack.udpFlowCount).toBeGreaterThan(0);
      const lookup = await uml.run("nslookup files.example.org");
      expect(lookup.output).toMatch(/Name:\s+files\.example\.org\s+Address:\s+10\.0\.2\.2/);
      const page = await uml.run(`wget -q -O - http://10.0.2.2:${port}/`);
      expect(page.output).toMatch(/^hello via Wget/m);
      const { sha, seconds } = await download(`http://10.0.2.2:${port}/big`);
      expect(sha).toBe(bigSha);
      console.log(`relay: 10 MiB in ${seconds.toFixed(2)} s (${(10 / seconds).toFixed(2)} MiB/s)`);
      expect(client.status().bytesReceived).toBeGreaterThan(10 * 1024 * 1024);
    } finally {
      client.close();
      tftp.close();
      udpTransport = () => Promise.reject(new Error("no UDP transport"));
      resolver = () => Promise.reject(new Error("no outside resolver"));
    }
  });

  it("a server in UML answers the page's HTTP through a connection the stack opens (the preview path)", async () => {
    await uml.run("mkdir -p /tmp/www && echo hello-from-uml-$((6*7)) > /tmp/www/index.html && httpd -p 8080 -h /tmp/www");
    const ip = stack.leaseOf(UML_MAC) ?? "";
    const response = await guestHttp((p, outside) => stack.connectToGuest(ip, p, outside), 8080, { method: "GET", target: "/index.html", headers: [] }, ip);
    expect(response.status).toBe(200);
    expect(new TextDecoder().decode(response.body)).toBe("hello-from-uml-42\n");
    await expect(guestHttp((p, outside) => stack.connectToGuest(ip, p, outside), 8081, { method: "GET", target: "/", headers: [] }, ip)).rejects.toThrow(/nothing listens on port 8081/);
  });
});
