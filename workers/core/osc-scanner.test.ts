import { describe, expect, it } from "vitest";
import { OscScanner } from "./osc-scanner.ts";

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

describe("OscScanner", () => {
  it("finds markers among ordinary output", () => {
    const s = new OscScanner();
    expect(s.scan(enc("boot\r\n\x1b]6973;uml-kernel lean uml-1\x07more\x1b[0m\x1b]6973;ready\x07"))).toEqual(["uml-kernel lean uml-1", "ready"]);
  });

  it("finds a marker split across chunks at any point", () => {
    const whole = enc("xx\x1b\x1b]6973;ready\x07yy");
    for (let cut = 0; cut <= whole.length; cut++) {
      const s = new OscScanner();
      expect([...s.scan(whole.subarray(0, cut)), ...s.scan(whole.subarray(cut))]).toEqual(["ready"]);
    }
  });

  it("ignores other OSCs and unterminated junk", () => {
    const s = new OscScanner();
    expect(s.scan(enc("\x1b]0;title\x07\x1b]6974;no\x07"))).toEqual([]);
    expect(s.scan(enc("\x1b]6973;" + "a".repeat(300)))).toEqual([]);
    expect(s.scan(enc("\x1b]6973;ok\x07"))).toEqual(["ok"]);
  });
});
