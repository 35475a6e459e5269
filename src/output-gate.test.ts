import { describe, expect, it } from "vitest";
import { MAX_HELD_BYTES, OutputGate } from "./output-gate.ts";

function gate(): { gate: OutputGate<"a" | "b">; log: string[] } {
  const log: string[] = [];
  return { gate: new OutputGate<"a" | "b">((id, bytes) => log.push(`${id}:${bytes.length}`)), log };
}

describe("OutputGate", () => {
  it("passes output straight through when open", () => {
    const { gate: g, log } = gate();
    g.push("a", new Uint8Array(3));
    expect(log).toEqual(["a:3"]);
    expect(g.holding).toBe(false);
  });

  it("holds output until released, running the first step before the held bytes", () => {
    const { gate: g, log } = gate();
    g.hold();
    g.push("a", new Uint8Array(1));
    g.push("b", new Uint8Array(2));
    expect(log).toEqual([]);
    g.release(() => log.push("screens"));
    expect(log).toEqual(["screens", "a:1", "b:2"]);
    g.push("a", new Uint8Array(4));
    expect(log.at(-1)).toBe("a:4");
  });

  it("opens by itself rather than hold without bound", () => {
    const { gate: g, log } = gate();
    g.hold();
    g.push("a", new Uint8Array(MAX_HELD_BYTES));
    expect(log).toEqual([]);
    g.push("a", new Uint8Array(1));
    expect(log).toEqual([`a:${MAX_HELD_BYTES}`, "a:1"]);
    expect(g.holding).toBe(false);
  });

  it("drops held output but keeps holding", () => {
    const { gate: g, log } = gate();
    g.hold();
    g.push("a", new Uint8Array(1));
    g.drop();
    expect(g.holding).toBe(true);
    g.release();
    expect(log).toEqual([]);
  });
});
