import { describe, expect, it } from "vitest";
import { keyAction, type KeyLike } from "./key-actions.ts";

function key(code: string, mods: Partial<KeyLike> = {}): KeyLike {
  return { type: "keydown", code, key: code.replace(/^(Key|Digit)/, "").toLowerCase(), ctrlKey: false, shiftKey: false, altKey: false, metaKey: false, ...mods };
}

describe("keyAction", () => {
  it("maps Alt+1 and Alt+2 to the tabs", () => {
    expect(keyAction(key("Digit1", { altKey: true }))).toBe("tab-uml");
    expect(keyAction(key("Digit2", { altKey: true }))).toBe("tab-host");
    expect(keyAction(key("Digit3", { altKey: true }))).toBeUndefined();
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
  });
  it("hands plain Ctrl+V to the browser's paste", () => {
    expect(keyAction(key("KeyV", { ctrlKey: true }))).toBe("browser-paste");
  });
  it("ignores anything with Meta", () => {
    expect(keyAction(key("KeyC", { ctrlKey: true, shiftKey: true, metaKey: true }))).toBeUndefined();
  });
});
