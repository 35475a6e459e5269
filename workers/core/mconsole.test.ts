import { describe, expect, it } from "vitest";
import { MCONSOLE_COMMANDS, SYSRQ_KEYS, parseMconsoleCommand, parseMconsoleReply } from "./mconsole.ts";

function refused(line: string): string {
  const parsed = parseMconsoleCommand(line);
  if (parsed.ok) throw new Error(`${line} was accepted`);
  return parsed.message;
}

describe("MCONSOLE_COMMANDS", () => {
  it("has UML's thirteen commands, and sysrq keys with meanings", () => {
    expect(Object.keys(MCONSOLE_COMMANDS)).toEqual(["version", "help", "halt", "reboot", "config", "remove", "sysrq", "cad", "stop", "go", "log", "proc", "stack"]);
    expect(SYSRQ_KEYS.m).toBe("show memory usage");
  });
});

describe("parseMconsoleCommand", () => {
  it("accepts commands without arguments and normalizes spaces", () => {
    expect(parseMconsoleCommand("  version ")).toEqual({ ok: true, command: "version", args: [], line: "version" });
    for (const name of ["help", "halt", "reboot", "cad", "stop", "go"]) expect(parseMconsoleCommand(name)).toMatchObject({ ok: true, command: name });
    expect(refused("version now")).toBe('"version" takes no arguments.');
  });

  it("lists the commands for an unknown one", () => {
    expect(refused("versoin")).toBe('"versoin" is not an mconsole command; the commands are version, help, halt, reboot, config, remove, sysrq, cad, stop, go, log, proc, stack.');
    expect(refused("VERSION")).toContain('type "version"');
    expect(refused("switch other")).toContain("uml_mconsole's interactive prompt");
    expect(refused("")).toContain("Type an mconsole command");
  });

  it("refuses control characters, non-ASCII and long lines", () => {
    expect(refused("log a\nhalt")).toContain("no newlines");
    expect(refused("log a\tb")).toContain("control characters");
    expect(refused("log café")).toContain("plain ASCII");
    expect(parseMconsoleCommand(`log ${"x".repeat(507)}`).ok).toBe(true);
    expect(refused(`log ${"x".repeat(508)}`)).toContain("at most 511");
  });

  it("takes one sysrq key", () => {
    expect(parseMconsoleCommand("sysrq m")).toEqual({ ok: true, command: "sysrq", args: ["m"], line: "sysrq m" });
    expect(parseMconsoleCommand("sysrq 5").ok).toBe(true);
    for (const bad of ["sysrq", "sysrq M", "sysrq mm", "sysrq m t", "sysrq !"]) expect(refused(bad)).toContain("one key");
  });

  it("takes one pid for stack", () => {
    expect(parseMconsoleCommand("stack 1")).toMatchObject({ ok: true, args: ["1"] });
    for (const bad of ["stack", "stack 0", "stack abc", "stack 1 2", "stack -1"]) expect(refused(bad)).toContain("process ID");
  });

  it("takes a file under /proc", () => {
    expect(parseMconsoleCommand("proc meminfo")).toEqual({ ok: true, command: "proc", args: ["meminfo"], line: "proc meminfo" });
    expect(parseMconsoleCommand("proc /proc/1/status")).toMatchObject({ ok: true, args: ["1/status"], line: "proc 1/status" });
    expect(parseMconsoleCommand("proc sys/kernel/hostname").ok).toBe(true);
    expect(refused("proc ../etc/passwd")).toContain("not a file under /proc");
    expect(refused("proc")).toContain("proc meminfo");
  });

  it("takes text for log, but not a host file", () => {
    expect(parseMconsoleCommand("log hello   from  mconsole")).toEqual({ ok: true, command: "log", args: ["hello", "from", "mconsole"], line: "log hello from mconsole" });
    expect(refused("log")).toContain("log hello");
    expect(refused("log -f /etc/shadow")).toContain("file on the host");
  });

  it("checks config's device and setting with UML's command-line syntax", () => {
    expect(parseMconsoleCommand("config ubd1=/lab/disk.img")).toEqual({ ok: true, command: "config", args: ["ubd1=/lab/disk.img"], line: "config ubd1=/lab/disk.img" });
    for (const good of ["config ubd1r=/lab/a.img", "config con2=xterm", "config ssl3=pts", "config vec1:transport=tap,ifname=tap1", "config eth1=mcast", "config mem=-16M", "config mem=+8M"]) {
      expect(parseMconsoleCommand(good).ok, good).toBe(true);
    }
    // Queries are harmless, umlab's own devices included.
    for (const query of ["config ubd0", "config con0", "config con1", "config ssl0", "config eth0", "config vec0", "config mem", "config ubda"]) {
      expect(parseMconsoleCommand(query).ok, query).toBe(true);
    }
    expect(refused("config ubd0=/lab/x.img")).toContain("umlab's root disk");
    expect(refused("config ubdar=/lab/x.img")).toContain("umlab's root disk");
    expect(refused("config con1=pts")).toContain("clock line");
    expect(refused("config vec0:transport=tap")).toContain("network device");
    expect(refused("config con=null")).toContain("all consoles at once");
    expect(refused("config con4=bogus")).toContain('"bogus" is not a UML channel');
    expect(refused("config ubd16=/lab/x.img")).toContain("ubd0 to ubd15");
    expect(refused("config ssl64")).toContain("ssl0 to ssl63");
    expect(refused("config foo")).toContain("ubdN, conN, sslN, ethN, vecN or mem");
    expect(refused("config mem=64M")).toContain("by an amount");
    expect(refused("config")).toContain("config ubd1=/lab/disk.img");
    expect(refused("config ubd1= /lab/x.img")).toContain("one device setting");
  });

  it("checks remove's device", () => {
    expect(parseMconsoleCommand("remove ubd1")).toEqual({ ok: true, command: "remove", args: ["ubd1"], line: "remove ubd1" });
    expect(parseMconsoleCommand("remove con5").ok).toBe(true);
    expect(refused("remove ubd0")).toContain("umlab needs it");
    expect(refused("remove ubda")).toContain("umlab needs it");
    expect(refused("remove eth0")).toContain("network device");
    expect(refused("remove mem")).toContain("config mem=-16M");
    expect(refused("remove ubd20")).toContain("ubd0 to ubd15");
    expect(refused("remove")).toContain("remove ubd1");
  });
});

// Outputs of the real uml_mconsole (uml-utilities 20070815.4-1) against Debian's linux.uml 6.1.176, with
// stderr merged into stdout as umlab's host agent runs it.
describe("parseMconsoleReply", () => {
  it("reads OK and ERR replies", () => {
    expect(parseMconsoleReply("OK Linux umlab 6.1.176 #1 Sat Jul  4 15:39:24 UTC 2026 i686\n")).toEqual({ ok: true, text: "Linux umlab 6.1.176 #1 Sat Jul  4 15:39:24 UTC 2026 i686" });
    expect(parseMconsoleReply("OK \n")).toEqual({ ok: true, text: "" });
    expect(parseMconsoleReply("OK stopped\n")).toEqual({ ok: true, text: "stopped" });
    expect(parseMconsoleReply("ERR Not stopped\n")).toEqual({ ok: false, text: "Not stopped" });
    expect(parseMconsoleReply("ERR Already stopped\n")).toEqual({ ok: false, text: "Already stopped" });
    expect(parseMconsoleReply("ERR Unknown command\n")).toEqual({ ok: false, text: "Unknown command" });
    expect(parseMconsoleReply("OK /tmp/mc-probe/cow,/root/rootfs.ext4\n")).toEqual({ ok: true, text: "/tmp/mc-probe/cow,/root/rootfs.ext4" });
    expect(parseMconsoleReply("ERR Device doesn't exist\n")).toEqual({ ok: false, text: "Device doesn't exist" });
    expect(parseMconsoleReply("ERR Invalid device number - must be between 0 and 15\n")).toEqual({ ok: false, text: "Invalid device number - must be between 0 and 15" });
  });

  it("starts a proc file on its first line", () => {
    expect(parseMconsoleReply("OK \nMemTotal:          55480 kB\nMemFree:           43396 kB\n\n")).toEqual({ ok: true, text: "MemTotal:          55480 kB\nMemFree:           43396 kB" });
    expect(parseMconsoleReply("OK \n58.08 0.00\n\n")).toEqual({ ok: true, text: "58.08 0.00" });
    expect(parseMconsoleReply("ERR Failed to open file\n")).toEqual({ ok: false, text: "Failed to open file" });
  });

  it("keeps sysrq's console output", () => {
    expect(parseMconsoleReply("OK sysrq: Changing Loglevel\nsysrq: Loglevel set to 5\n\n")).toEqual({ ok: true, text: "sysrq: Changing Loglevel\nsysrq: Loglevel set to 5" });
  });

  it("drops uml_mconsole's local help after UML's", () => {
    const help =
      "OK Commands: \n    version - Get kernel version \n    stack <pid> - returns the stack of the specified pid\n\nAdditional local mconsole commands:\n    quit - Quit mconsole\n    int  - Interrupt UML session\n";
    expect(parseMconsoleReply(help)).toEqual({ ok: true, text: "Commands: \n    version - Get kernel version \n    stack <pid> - returns the stack of the specified pid" });
  });

  it("reads log's one status line per chunk", () => {
    expect(parseMconsoleReply("OK \nOK \n")).toEqual({ ok: true, text: "" });
    expect(parseMconsoleReply("OK \nERR Request too large\n")).toEqual({ ok: false, text: "Request too large" });
  });

  it("skips uml_mconsole's own complaints before the reply", () => {
    expect(parseMconsoleReply("absolutize : Can't cd to '/nonexistent', No such file or directory\nERR Couldn't determine size of device's file\n")).toEqual({
      ok: false,
      text: "Couldn't determine size of device's file",
    });
  });

  it("returns other output as it is", () => {
    const unreachable =
      "Warning: couldn't stat file: /root/.uml/nosuch/mconsole - No such file or directory\nWarning: couldn't stat file: /tmp/uml/nosuch/mconsole - No such file or directory\nWarning: couldn't stat file: nosuch - No such file or directory\nSending command to '' : Invalid argument\n";
    expect(parseMconsoleReply(unreachable)).toEqual({ ok: false, text: unreachable.trim() });
    expect(parseMconsoleReply("")).toEqual({ ok: false, text: "" });
  });
});
