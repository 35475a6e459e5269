import { describe, expect, it } from "vitest";
import { isTabAction, keyAction, tabPosition, type KeyLike } from "./key-actions.ts";

function key(code: string, mods: Partial<KeyLike> = {}): KeyLike {
  return { type: "keydown", code, key: code.replace(/^(Key|Digit)/, "").toLowerCase(), ctrlKey: false, shiftKey: false, altKey: false, metaKey: false, ...mods };
}

describe("keyAction", () => {
  it("maps Alt+1 and Alt+2 to the tabs", () => {
    expect(keyAction(key("Digit1", { altKey: true }))).toBe("tab-uml");
    expect(keyAction(key("Digit2", { altKey: true }))).toBe("tab-host");
  });
  it("maps Alt+3 … Alt+9 to the extra console tabs, and nothing else with Alt", () => {
    expect(keyAction(key("Digit3", { altKey: true }))).toBe("tab-3");
    expect(keyAction(key("Digit9", { altKey: true }))).toBe("tab-9");
    expect(keyAction(key("Digit0", { altKey: true }))).toBeUndefined();
    expect(keyAction(key("KeyA", { altKey: true }))).toBeUndefined();
  });
  it("maps Ctrl+Shift+C/V to copy and paste", () => {
    expect(keyAction(key("KeyC", { ctrlKey: true, shiftKey: true }))).toBe("copy");
    expect(keyAction(key("KeyV", { ctrlKey: true, shiftKey: true }))).toBe("paste");
  });
  it("maps Ctrl+Shift+S to saving a session and leaves Ctrl+S to the guest", () => {
    expect(keyAction(key("KeyS", { ctrlKey: true, shiftKey: true }))).toBe("save-session");
    expect(keyAction(key("KeyS", { ctrlKey: true }))).toBeUndefined();
  });
  it("leaves Ctrl+C and plain digits to the guest", () => {
    expect(keyAction(key("KeyC", { ctrlKey: true }))).toBeUndefined();
    expect(keyAction(key("Digit1"))).toBeUndefined();
    expect(keyAction(key("Digit1", { altKey: true, ctrlKey: true }))).toBeUndefined();
    expect(keyAction(key("Digit3", { altKey: true, shiftKey: true }))).toBeUndefined();
  });
  it("hands plain Ctrl+V to the browser's paste", () => {
    expect(keyAction(key("KeyV", { ctrlKey: true }))).toBe("browser-paste");
  });
  it("ignores anything with Meta", () => {
    expect(keyAction(key("KeyC", { ctrlKey: true, shiftKey: true, metaKey: true }))).toBeUndefined();
  });
});

describe("tab actions", () => {
  it("tell tab switches from the other actions", () => {
    expect(isTabAction("tab-uml")).toBe(true);
    expect(isTabAction("tab-5")).toBe(true);
    expect(isTabAction("copy")).toBe(false);
    expect(isTabAction("save-session")).toBe(false);
  });
  it("number the tab bar from 0, Alt+1 first", () => {
    expect(tabPosition("tab-uml")).toBe(0);
    expect(tabPosition("tab-host")).toBe(1);
    expect(tabPosition("tab-3")).toBe(2);
    expect(tabPosition("tab-9")).toBe(8);
  });
});
