// The network stack against a real Linux TCP/IP stack: UML run natively on this machine, on the stack's
// segment through UML's mcast transport. Boot-time DHCP, ping, DNS and the classic static setup.
import { randomInt } from "node:crypto";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildImages } from "../images/build.ts";
import { DEFAULT_NET_CONFIG } from "../workers/net/stack.ts";
import { startMcastSegment, type McastSegment } from "./mcast-segment.ts";
import { startNativeUml, type NativeUml } from "./native-uml.ts";

// Each test waits on a real guest, which a loaded machine can slow down a lot.
describe("NetStack with a native UML on its segment", { timeout: 120_000 }, () => {
  let segment: McastSegment;
  let uml: NativeUml;

  beforeAll(async () => {
    const steps = await buildImages();
    const kernel = steps.get("uml-kernel");
    const rootfs = steps.get("rootfs");
    if (!kernel || !rootfs) throw new Error("the image build did not report the uml-kernel and rootfs steps");
    // A group and port of its own, so parallel runs on one machine never share a segment.
    segment = await startMcastSegment(`239.255.${randomInt(1, 255)}.${randomInt(1, 255)}`, randomInt(20000, 60000), { ...DEFAULT_NET_CONFIG, hosts: { "lab.example": "10.0.2.77" } });
    uml = await startNativeUml(path.join(kernel, "linux"), path.join(rootfs, "rootfs.ext4"), { args: [segment.umlDevice("eth0", "52:54:00:12:34:56")] });
  }, 300_000);

  afterAll(async () => {
    await uml?.close();
    await segment?.close();
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

  it("the classic commands work verbatim: static ifconfig/route, then udhcpc", async () => {
    await uml.run("killall udhcpc; ifconfig eth0 0.0.0.0");
    await uml.run("ifconfig eth0 10.0.2.14 netmask 255.255.255.240; route add default gw 10.0.2.2");
    expect(await uml.run("ping -c 1 -W 3 10.0.2.2")).toContain("1 packets received");
    await uml.run("ifconfig eth0 0.0.0.0");
    expect(await uml.run("udhcpc -i eth0 -n -q -t 5 -T 1 2>&1")).toContain("lease of 10.0.2.15 obtained");
    expect(segment.stack.counters.malformed).toBe(0);
  });
});
