import { describe, expect, it } from "vitest";
import { channelOf, fallbackAfter, muxKey, neighbour, splitPartner } from "./console-keys.ts";

const order = ["uml", "host", "console-2", "console-3"];
const all = (): boolean => true;

describe("console keys", () => {
  it("name extra consoles by their UML channel and read it back", () => {
    expect(muxKey(2)).toBe("console-2");
    expect(channelOf("console-12")).toBe(12);
    expect(channelOf("uml")).toBeUndefined();
    expect(channelOf("console-x")).toBeUndefined();
  });

  it("move between tabs with wrap-around", () => {
    expect(neighbour(order, "uml", 1)).toBe("host");
    expect(neighbour(order, "console-3", 1)).toBe("uml");
    expect(neighbour(order, "uml", -1)).toBe("console-3");
    expect(neighbour(order, "missing", 1)).toBe("uml");
    expect(neighbour([], "uml", 1)).toBeUndefined();
  });

  it("fall back to the next shown console, else the one before, else none", () => {
    expect(fallbackAfter(order, "host", all)).toBe("console-2");
    expect(fallbackAfter(order, "console-3", all)).toBe("console-2");
    expect(fallbackAfter(order, "host", (k) => k === "uml")).toBe("uml");
    expect(fallbackAfter(order, "uml", (k) => k === "uml")).toBeUndefined();
  });

  it("pick the split's right side: the asked one when possible, else the next docked one", () => {
    expect(splitPartner(order, "uml", "console-3", all)).toBe("console-3");
    expect(splitPartner(order, "uml", "uml", all)).toBe("host");
    expect(splitPartner(order, "console-3", undefined, all)).toBe("uml");
    expect(splitPartner(order, "uml", "console-2", (k) => k !== "console-2")).toBe("host");
    expect(splitPartner(order, "uml", undefined, (k) => k === "uml")).toBeUndefined();
    expect(splitPartner(order, "host", "gone", all)).toBe("console-2");
  });
});
