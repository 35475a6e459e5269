import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { parseLock } from "./packages.ts";

describe("debian-packages.lock", () => {
  it("parses name:arch version lines and skips comments", () => {
    expect(parseLock("# c\nbusybox-static:i386 1:1.35.0-4+deb12u1+b1 # trailing\n\nseabios:all 1.16.2-1\n")).toEqual([
      { name: "busybox-static", arch: "i386", version: "1:1.35.0-4+deb12u1+b1" },
      { name: "seabios", arch: "all", version: "1.16.2-1" },
    ]);
  });

  it("names the bad line", () => {
    expect(() => parseLock("seabios 1.16.2-1\n")).toThrow(/line 1/);
  });

  it("pins every package the image recipes unpack", () => {
    const names = parseLock(readFileSync(new URL("../debian-packages.lock", import.meta.url), "utf8")).map((p) => p.name);
    for (const needed of ["seabios", "linux-source-6.1", "user-mode-linux", "busybox-static", "libc6", "uml-utilities"]) expect(names).toContain(needed);
  });
});
