// Which page-level action a key event in a terminal means, if any; everything else goes to the guest.

/** Alt+3 … Alt+9: the third to ninth console tab (the extra UML consoles, in the order they opened). */
export type ExtraTabNumber = 3 | 4 | 5 | 6 | 7 | 8 | 9;
export type TabAction = "tab-uml" | "tab-host" | `tab-${ExtraTabNumber}`;
export type KeyAction = "copy" | "paste" | "browser-paste" | TabAction | "save-session";

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

const EXTRA_TABS: Record<string, TabAction> = { Digit3: "tab-3", Digit4: "tab-4", Digit5: "tab-5", Digit6: "tab-6", Digit7: "tab-7", Digit8: "tab-8", Digit9: "tab-9" };

export function keyAction(ev: KeyLike): KeyAction | undefined {
  if (ev.metaKey) return undefined;
  // Physical key codes, so the shortcuts survive keyboard layouts and Shift changing `key`.
  if (ev.altKey && !ev.ctrlKey && !ev.shiftKey) {
    if (ev.code === "Digit1") return "tab-uml";
    if (ev.code === "Digit2") return "tab-host";
    return EXTRA_TABS[ev.code];
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

export function isTabAction(action: KeyAction): action is TabAction {
  return action.startsWith("tab-");
}

/** The tab's position in the tab bar, from 0: Alt+1 is the first tab (UML), Alt+3 the first extra console. */
export function tabPosition(action: TabAction): number {
  if (action === "tab-uml") return 0;
  if (action === "tab-host") return 1;
  return Number(action.slice("tab-".length)) - 1;
}
