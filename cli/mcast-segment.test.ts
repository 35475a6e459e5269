// The network stack against a real Linux TCP/IP stack: UML run natively on this machine, on the stack's
// segment through UML's mcast transport. Boot-time DHCP, ping, DNS and the classic static setup.
import { createHash, randomBytes, randomInt } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildImages } from "../images/build.ts";
import { DEFAULT_NET_CONFIG } from "../workers/net/stack.ts";
import { startMcastSegment, type McastSegment } from "./mcast-segment.ts";
import { nodeTcpConnector } from "./node-tcp.ts";
import { startNativeUml, type NativeUml } from "./native-uml.ts";

// Each test waits on a real guest, which a loaded machine can slow down a lot.
describe("NetStack with a native UML on its segment", { timeout: 120_000 }, () => {
  let segment: McastSegment;
  let uml: NativeUml;
  let server: http.Server;
  let port = 0;
  const big = randomBytes(10 * 1024 * 1024);
  const posted: string[] = [];

  beforeAll(async () => {
    // The loopback HTTP server the guest reaches as 10.0.2.2, this machine.
    server = http.createServer((req, res) => {
      if (req.url === "/big") {
        res.writeHead(200, { "content-type": "application/octet-stream", "content-length": big.length });
        res.end(big);
      } else if (req.method === "POST") {
        let body = "";
        req.on("data", (d: Buffer) => (body += d.toString()));
        req.on("end", () => {
          posted.push(body);
          res.end(`got ${body.length} bytes\n`);
        });
      } else {
        res.end("hello from the loopback server\n");
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
    const steps = await buildImages();
    const kernel = steps.get("uml-kernel");
    const rootfs = steps.get("rootfs");
    if (!kernel || !rootfs) throw new Error("the image build did not report the uml-kernel and rootfs steps");
    // A group and port of its own, so parallel runs on one machine never share a segment.
    segment = await startMcastSegment(`239.255.${randomInt(1, 255)}.${randomInt(1, 255)}`, randomInt(20000, 60000), { ...DEFAULT_NET_CONFIG, hosts: { "lab.example": "10.0.2.77" } }, { tcp: nodeTcpConnector() });
    uml = await startNativeUml(path.join(kernel, "linux"), path.join(rootfs, "rootfs.ext4"), { args: [segment.umlDevice("eth0", "52:54:00:12:34:56")] });
  }, 300_000);

  afterAll(async () => {
    await uml?.close();
    await segment?.close();
    await new Promise((resolve) => server?.close(resolve));
  });

  it("UML's boot-time udhcpc gets the first lease, with the gateway as default route", async () => {
    // rcS starts udhcpc in the background; poll until the lease is applied.
    await expect.poll(() => uml.run("ifconfig eth0"), { timeout: 30_000, interval: 500 }).toContain("inet addr:10.0.2.15");
    expect(await uml.run("route -n")).toMatch(/^0\.0\.0\.0\s+10\.0\.2\.2\s/m);
    expect(await uml.run("cat /etc/resolv.conf")).toContain("nameserver 10.0.2.3");
  });

  it("pings the gateway and the DNS server", async () => {
    expect(await uml.run("ping -c 2 -W 3 10.0.2.2")).toContain("2 packets received");
    expect(await uml.run("ping -c 1 -W 3 10.0.2.3")).toContain("1 packets received");
  });

  it("resolves from the hosts table with nslookup, and says when a name does not exist", async () => {
    expect(await uml.run("nslookup lab.example 10.0.2.3")).toMatch(/Address:\s+10\.0\.2\.77/);
    await expect(uml.run("nslookup nowhere.example 10.0.2.3")).rejects.toThrow(/NXDOMAIN/);
  });

  it("fetches from this machine's loopback as 10.0.2.2 over TCP, and POSTs", async () => {
    await expect.poll(() => uml.run("ifconfig eth0"), { timeout: 30_000, interval: 500 }).toContain("inet addr:10.0.2.15");
    expect(await uml.run(`wget -q -O - http://10.0.2.2:${port}/`)).toContain("hello from the loopback server");
    expect(await uml.run(`wget -q -O - --post-data=$(printf 'x%.0s' $(seq 1 3000)) http://10.0.2.2:${port}/form`)).toContain("got 3000 bytes");
    expect(posted).toEqual(["x".repeat(3000)]);
  });

  it("downloads 10 MB intact", async () => {
    const started = Date.now();
    const out = await uml.run(`wget -q -O /tmp/big http://10.0.2.2:${port}/big && sha256sum /tmp/big && rm /tmp/big`);
    const seconds = (Date.now() - started) / 1000;
    expect(out).toContain(createHash("sha256").update(big).digest("hex"));
    console.log(`native UML: 10 MiB over the stack in ${seconds.toFixed(2)} s (${(10 / seconds).toFixed(1)} MiB/s), ${segment.stack.tcp.counters.retransmits} retransmits`);
  });

  it("a closed port is refused, and no connection is left behind", async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await expect(uml.run(`wget -q -O - http://10.0.2.2:${closedPort}/`)).rejects.toThrow(/refused/i);
    await expect.poll(() => segment.stack.tcp.size, { timeout: 10_000 }).toBe(0);
  });

  it("the classic commands work verbatim: static ifconfig/route, then udhcpc", async () => {
    await uml.run("killall udhcpc; ifconfig eth0 0.0.0.0");
    await uml.run("ifconfig eth0 10.0.2.14 netmask 255.255.255.240; route add default gw 10.0.2.2");
    expect(await uml.run("ping -c 1 -W 3 10.0.2.2")).toContain("1 packets received");
    await uml.run("ifconfig eth0 0.0.0.0");
    expect(await uml.run("udhcpc -i eth0 -n -q -t 5 -T 1 2>&1")).toContain("lease of 10.0.2.15 obtained");
    expect(segment.stack.counters.malformed).toBe(0);
  });
});
