import { describe, expect, it } from "vitest";
import { DEFAULT_UML_CMDLINE, checkUmlDeviceOption, formatUmlCmdline, parseUmlCmdline, type UmlCmdline } from "./uml-cmdline.ts";

const limits = { maxMemMiB: 256 };

/** The errors' messages, or [] when the line is accepted. */
function errorsOf(result: UmlCmdline): string[] {
  return result.ok ? [] : result.errors.map((e) => e.message);
}

function refused(token: string): string {
  const result = parseUmlCmdline(token, limits);
  if (result.ok) throw new Error(`${token} was accepted`);
  expect(result.errors.map((e) => e.token)).toEqual([token]);
  return result.errors[0]?.message ?? "";
}

function accepted(text: string): { args: string[]; memMiB: number; warnings: string[] } {
  const result = parseUmlCmdline(text, limits);
  if (!result.ok) throw new Error(`${text} was refused: ${errorsOf(result).join(" ")}`);
  return { args: result.args, memMiB: result.memMiB, warnings: result.warnings ?? [] };
}

describe("parseUmlCmdline", () => {
  it("accepts the default line and an empty one", () => {
    expect(parseUmlCmdline(DEFAULT_UML_CMDLINE, limits)).toEqual({ ok: true, args: ["mem=64M", "quiet"], memMiB: 64 });
    expect(parseUmlCmdline("  \n ", limits)).toEqual({ ok: true, args: [], memMiB: 64 });
  });

  it("accepts a how-to's line", () => {
    expect(accepted("mem=128M ubd1=/share/disk.img con2=xterm ssl0=xterm init=/bin/sh")).toEqual({
      args: ["mem=128M", "ubd1=/share/disk.img", "con2=xterm", "ssl0=xterm", "init=/bin/sh"],
      memMiB: 128,
      warnings: [],
    });
  });

  it("checks mem= against the limits", () => {
    expect(accepted("mem=131072K").memMiB).toBe(128);
    expect(accepted("mem=256m").memMiB).toBe(256);
    expect(refused("mem=1G")).toBe("`mem=1G` is more than this lab allows (mem=256M): UML's memory lives in the host's RAM, which also holds the host itself.");
    expect(refused("mem=8M")).toContain("at least mem=16M");
    expect(refused("mem=64MB")).toContain("mem=128M");
    expect(refused("mem=")).toContain("not a memory size");
    const twice = parseUmlCmdline("mem=64M mem=96M", limits);
    expect(twice).toEqual({ ok: false, errors: [{ token: "mem=96M", message: "`mem=96M`: mem= is given twice; keep one." }] });
  });

  it("refuses the options umlab sets itself, naming why", () => {
    expect(refused("umid=mine")).toBe("`umid=mine` is umlab's to set (the host's tools and mconsole find UML by the name umlab gives it); remove it.");
    expect(refused("uml_dir=/tmp")).toContain("umid folder");
    expect(refused("root=/dev/ubdb")).toContain("/dev/ubda");
    expect(refused("ro")).toContain("read-write");
    expect(refused("hostfs=/")).toContain("shared folder");
    expect(refused("xterm=gnome-terminal,-t,-x")).toContain("tab of the page");
    expect(refused("ubd0=/tmp/cow,/images/root.img")).toContain("ubd0 is umlab's root disk");
    expect(refused("ubd0s=/x")).toContain("ubd0 is umlab's root disk");
    expect(refused("ubda=/x")).toContain("ubd0 is umlab's root disk");
    expect(refused("con0=pts")).toContain("con0 is the page's terminal");
    expect(refused("con1=null")).toContain("clock line");
    expect(refused("vec0:transport=tap,ifname=tap0")).toContain("vec0 is umlab's network device");
    expect(refused("eth0=tuntap,tap0")).toContain("eth0 is umlab's network device");
    expect(accepted("rw").args).toEqual(["rw"]);
  });

  it("checks ubd disks as ubd_setup does", () => {
    expect(accepted("ubd1=/lab/a.img ubd2r=/lab/b.img ubd3=/lab/c.cow,/lab/c.img ubd15dst=/lab/d.img ubdc=/lab/e.img ubd4=/lab/f.img,,serial1").warnings).toEqual([]);
    expect(refused("ubd16=/lab/a.img")).toContain("ubd0 to ubd15");
    expect(refused("ubdq=/lab/a.img")).toContain("ubd0 to ubd15");
    expect(refused("ubd1x=/lab/a.img")).toContain('"x" is not a ubd flag; the flags are r (read-only), s (synchronous writes), d (no COW file), c (shared, no locking), t (no trim).');
    expect(refused("ubd1rr=/lab/a.img")).toContain("once");
    expect(refused("ubd01=/lab/a.img")).toContain("ubd1=");
    expect(refused("ubd1")).toContain("not a ubd disk");
    expect(refused("ubd1=")).toContain("names no file");
    expect(refused("ubd1d=/lab/cow,/lab/base")).toContain("d flag");
    expect(refused("ubd=sync")).toContain("umlab's root disk included");
    expect(refused("udb1=/lab/a.img")).toContain("typo of ubd");
    expect(accepted("ubd1=disk.img").warnings).toEqual(["`ubd1=disk.img`: disk.img is relative to the host's /root; an absolute path (e.g. under /lab) is clearer."]);
  });

  it("checks consoles and serial lines as line_setup and parse_chan_pair do", () => {
    expect(accepted("con=pts con2=xterm con3=null con4=port:9000 con5=pty con6=tty:/dev/tty2 con7=null,pts con15=none ssl=null ssl0=pts ssl63=xterm").warnings).toEqual([]);
    expect(refused("con16=pts")).toContain("con0 to con15 only");
    expect(refused("ssl64=pts")).toContain("ssl0 to ssl63 only");
    expect(refused("con2=telnet")).toBe('`con2=telnet`: "telnet" is not a UML channel; use one of null, fd:N, port:N, pty, pts, tty:/dev/…, xterm, or an input,output pair of them.');
    expect(refused("con2=")).toContain("gives no channel");
    expect(refused("con2=pts,pts,pts")).toContain("one comma");
    expect(refused("con2=port:70000")).toContain("not a TCP port");
    expect(refused("ssl1=fd:0,fd:1")).toContain("page's terminal");
    expect(refused("con2=fd:3")).toContain("clock line");
    expect(accepted("con2=fd:7").warnings[0]).toContain("fd:7 will not open");
    expect(refused("config=1")).toContain('starting with "con"');
    expect(refused("con02=pts")).toContain("leading zeros");
    expect(accepted("console=tty0 ssl-non-raw").args).toEqual(["console=tty0", "ssl-non-raw"]);
  });

  it("checks network devices", () => {
    expect(accepted("vec1:transport=raw,ifname=eth5 vec2:transport=tap,ifname=tap1,mac=52:54:00:00:00:02,gro=1").warnings).toEqual([]);
    expect(refused("vec1:transport=slirp")).toContain("transport= one of tap, hybrid, raw, gre, l2tpv3, bess, fd");
    expect(refused("vec1:ifname=tap1")).toContain("names no transport");
    expect(refused("vec1:transport")).toContain("key=value");
    expect(refused("vec1")).toContain("vecN:transport=");
    expect(accepted("vec1:transport=tap,ifname=tap1,colour=red").warnings).toEqual(["`vec1:transport=tap,ifname=tap1,colour=red`: the vector driver ignores colour."]);
    expect(accepted("eth1=mcast").warnings[0]).toContain("UML 6.16 removed");
    expect(refused("eth1=wireguard,x")).toContain("use one of tuntap, ethertap, daemon, mcast, ucast, slirp, slip, pcap, vde");
    expect(refused("eth1")).toContain("ethN=<transport>");
  });

  it("checks init=, loglevel=, panic= and friends", () => {
    expect(accepted("init=/sbin/init loglevel=7 panic=-1 debug nosysemu noreboot printk.time=1 mconsole=notify:/tmp/sock").warnings).toEqual([]);
    expect(refused("init=bin/sh")).toContain("absolute path");
    expect(refused("loglevel=9")).toContain("0 (emergencies only) to 8");
    expect(refused("panic=soon")).toContain("panic=10");
    expect(refused("console=")).toContain("console=tty0");
    expect(refused("mconsole=/tmp/sock")).toContain("notify:");
  });

  it("allows unknown words with a warning", () => {
    expect(accepted("foo=bar single S").warnings).toEqual([
      "`foo=bar` is not a UML or common kernel option, so Linux passes it to init as an environment variable.",
      "`S` is not a UML or common kernel option, so Linux passes it to init as an argument.",
    ]);
    const many = Array.from({ length: 31 }, (_, i) => `v${i}=1`).join(" ");
    expect(errorsOf(parseUmlCmdline(many, limits))).toEqual(["31 words would pass to init, but Linux panics at boot with more than 30; remove some."]);
  });

  it("refuses quotes, control characters, non-ASCII and overlong lines", () => {
    expect(refused('init="/bin/sh"')).toContain("the character \"");
    expect(refused("foo=a\\b")).toContain("the character \\");
    expect(refused("foo=\u0007")).toContain("control character (code 7)");
    expect(refused("foo=é")).toContain("non-ASCII");
    expect(errorsOf(parseUmlCmdline(`foo.bar=${"x".repeat(1100)}`, limits))[0]).toContain("within 1024");
  });

  it("reports every refused word at once", () => {
    const result = parseUmlCmdline("umid=x mem=64M con0=pts quiet", limits);
    expect(result.ok ? [] : result.errors.map((e) => e.token)).toEqual(["umid=x", "con0=pts"]);
  });
});

describe("checkUmlDeviceOption", () => {
  it("checks device options only", () => {
    expect(checkUmlDeviceOption("ubd1=/lab/a.img")).toEqual({ ok: true });
    expect(checkUmlDeviceOption("con2=bogus")).toMatchObject({ ok: false });
    expect(checkUmlDeviceOption("quiet")).toBeUndefined();
  });
});

describe("formatUmlCmdline", () => {
  it("joins the words with spaces", () => {
    expect(formatUmlCmdline(["mem=64M", "quiet"])).toBe(DEFAULT_UML_CMDLINE);
    expect(formatUmlCmdline([])).toBe("");
  });
});
