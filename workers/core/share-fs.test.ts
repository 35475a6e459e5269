import { describe, expect, it } from "vitest";
import { checkSharePath } from "./share-fs.ts";
import { panicText } from "./machine.ts";

describe("checkSharePath", () => {
  it("accepts absolute paths inside the share", () => {
    expect(checkSharePath("/share/a.txt")).toBeUndefined();
    expect(checkSharePath("/disks/disk one.img")).toBeUndefined();
  });

  it("refuses relative, empty, dot and dot-dot parts, control characters and umlab's own folder", () => {
    expect(checkSharePath("share/a")).toMatch(/must start/);
    expect(checkSharePath("/share//a")).toMatch(/empty/);
    expect(checkSharePath("/share/../etc")).toMatch(/"\.\."/);
    expect(checkSharePath("/share/./a")).toMatch(/"\."/);
    expect(checkSharePath("/a\nb")).toMatch(/control/);
    expect(checkSharePath("/.umlab/mconsole")).toMatch(/umlab's own/);
    expect(checkSharePath(`/${"x".repeat(1100)}`)).toMatch(/longer/);
  });
});

describe("panicText", () => {
  it("takes UML's console from the last panic on, without escapes or carriage returns", () => {
    const tail = "login ok\r\nsysrq: Trigger a crash\r\nKernel panic - not syncing: sysrq triggered crash\r\nCall Trace:\r\n [<0812>] ? panic\r\n\x1b]6973;uml-exited 134\x07\x1b[0m";
    expect(panicText(tail)).toBe("Kernel panic - not syncing: sysrq triggered crash\nCall Trace:\n [<0812>] ? panic");
  });

  it("is undefined when UML exited without a panic", () => {
    expect(panicText("reboot: System halted\r\n")).toBeUndefined();
  });
});
