import { describe, expect, it } from "vitest";
import { gunzipIfGzip, gzip } from "./gzip.ts";

describe("gunzipIfGzip", () => {
  const wasm = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...Array.from({ length: 5000 }, (_, i) => i % 251)]);

  it("inflates gzip", async () => {
    expect(await gunzipIfGzip(await gzip(wasm))).toEqual(wasm);
  });

  it("passes bytes the browser already inflated through unchanged", async () => {
    expect(await gunzipIfGzip(wasm)).toEqual(wasm);
  });

  it("rejects a damaged gzip stream", async () => {
    const gz = await gzip(wasm);
    await expect(gunzipIfGzip(gz.subarray(0, gz.length >> 1))).rejects.toThrow();
  });
});
