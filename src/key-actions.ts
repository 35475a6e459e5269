// Which page-level action a key event in a terminal means, if any; everything else goes to the guest.

export type KeyAction = "copy" | "paste" | "browser-paste" | "tab-uml" | "tab-host" | "save-session";

/** The parts of a KeyboardEvent the decision needs, so it can be tested without a DOM. */
export interface KeyLike {
  type: string;
  code: string;
  key: string;
  ctrlKey: boolean;
  shiftKey: boolean;
  altKey: boolean;
  metaKey: boolean;
}

export function keyAction(ev: KeyLike): KeyAction | undefined {
  if (ev.metaKey) return undefined;
  // Physical key codes, so the shortcuts survive keyboard layouts and Shift changing `key`.
  if (ev.altKey && !ev.ctrlKey && !ev.shiftKey) {
    if (ev.code === "Digit1") return "tab-uml";
    if (ev.code === "Digit2") return "tab-host";
    return undefined;
  }
  if (ev.ctrlKey && ev.shiftKey && !ev.altKey) {
    if (ev.code === "KeyC") return "copy";
    if (ev.code === "KeyV") return "paste";
    if (ev.code === "KeyS") return "save-session";
    return undefined;
  }
  // Plain Ctrl+V must reach the browser, which fires the paste event xterm listens for, instead of becoming ^V.
  if (ev.ctrlKey && !ev.shiftKey && !ev.altKey && ev.code === "KeyV") return "browser-paste";
  return undefined;
}
