import { describe, expect, it } from "vitest";
import { base64FromBytes, bytesFromHook } from "./hook-bytes.ts";

describe("hook bytes", () => {
  it("take byte arrays and base64", () => {
    expect(bytesFromHook([0, 255, 256, 65])).toEqual(Uint8Array.from([0, 255, 0, 65]));
    expect(bytesFromHook("aGk=")).toEqual(new TextEncoder().encode("hi"));
  });
  it("round-trip large files through base64", () => {
    const bytes = new Uint8Array(100_000).map((_, i) => (i * 7) % 256);
    expect(bytesFromHook(base64FromBytes(bytes))).toEqual(bytes);
    expect(base64FromBytes(new Uint8Array())).toBe("");
  });
});
