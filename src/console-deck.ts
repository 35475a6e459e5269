// Every console's tab and terminal: which one shows, two side by side (split), popped out (detached),
// notices above a terminal, and each terminal's size sent to whatever runs it.
import { fallbackAfter, neighbour, splitPartner } from "./console-keys.ts";
import { el, setText } from "./dom.ts";
import { FloatingPanel } from "./floating-panel.ts";
import type { TerminalPane } from "./terminal-pane.ts";

export interface DeckConsole {
  /** "uml", "host", or muxKey(channel); also the suffix of the console's data-testids. */
  key: string;
  title: string;
  pane: TerminalPane;
  /** The role="tab" button. */
  tab: HTMLButtonElement;
  /** The role="tabpanel" element around the terminal's screen; notices go at its top. */
  panel: HTMLElement;
  /** What goes into the tab list when it is not `tab` itself, e.g. a wrapper with a close button. */
  tabItem?: HTMLElement;
  /** Sends a size to whatever runs the console; false when nothing could take it (no worker yet). */
  resize(cols: number, rows: number): boolean;
}

export interface DeckControls {
  split: HTMLButtonElement;
  splitRight: HTMLSelectElement;
  detach: HTMLButtonElement;
  /** Shown in the stack while every console is detached. */
  empty: HTMLElement;
}

export interface DeckCallbacks {
  /** The user closed a console's tab (only ended extra consoles can be closed). */
  closed(key: string): void;
}

interface Entry extends DeckConsole {
  notices: HTMLElement;
  /** "colsxrows" last sent, so unchanged sizes are not sent again. */
  sentSize: string | undefined;
  ended: boolean;
  floating: FloatingPanel | undefined;
}

export class ConsoleDeck {
  private readonly entries = new Map<string, Entry>();
  /** The console shown in the stack (the left one when split). */
  private docked: string | undefined;
  /** The console the keyboard talks to: the docked one, or a detached one that has focus. */
  private focusKey: string | undefined;
  private splitOn = false;
  /** The console the user chose for the right side of the split. */
  private rightChoice: string | undefined;
  private right: string | undefined;

  constructor(
    private readonly tablist: HTMLElement,
    private readonly stack: HTMLElement,
    private readonly controls: DeckControls,
    private readonly callbacks: DeckCallbacks,
  ) {
    controls.split.addEventListener("click", () => this.setSplit(!this.splitOn));
    controls.splitRight.addEventListener("change", () => {
      this.rightChoice = controls.splitRight.value;
      this.layout();
      this.fitAll(false);
    });
    controls.detach.addEventListener("click", () => {
      const key = this.current;
      if (key === undefined) return;
      if (this.entries.get(key)?.floating) this.dock(key);
      else this.detach(key);
    });
  }

  /** Tab order: the fixed consoles first, then the extra ones as they opened. */
  get order(): string[] {
    return [...this.entries.keys()];
  }

  get current(): string | undefined {
    return this.focusKey;
  }

  get isSplit(): boolean {
    return this.right !== undefined;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  pane(key: string): TerminalPane | undefined {
    return this.entries.get(key)?.pane;
  }

  isDetached(key: string): boolean {
    return this.entries.get(key)?.floating !== undefined;
  }

  /** Puts a new console's panel into the stack (hidden), so its terminal opens attached and can measure its font. */
  mount(panel: HTMLElement): void {
    if (!panel.isConnected) this.stack.append(panel);
  }

  add(console: DeckConsole): void {
    const notices = el("div", { class: "term-notices" });
    console.panel.prepend(notices);
    const entry: Entry = { ...console, notices, sentSize: undefined, ended: false, floating: undefined };
    this.entries.set(console.key, entry);
    const item = console.tabItem ?? console.tab;
    if (!item.isConnected) this.tablist.append(item);
    if (!console.panel.isConnected) this.stack.append(console.panel);
    console.tab.addEventListener("click", () => this.activate(console.key));
    console.tab.addEventListener("keydown", (ev) => this.tabKey(console.key, ev));
    // Clicking into a terminal (a split's other side, a detached panel) makes it the keyboard's console.
    console.panel.addEventListener("focusin", () => {
      if (this.focusKey === console.key) return;
      this.focusKey = console.key;
      this.syncControls();
    });
    this.focusKey ??= console.key;
    this.layout();
  }

  /** Shows a console (raising it if detached) and makes it the keyboard's console. */
  activate(key: string, focus = true): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.focusKey = key;
    if (entry.floating) entry.floating.raise();
    else this.docked = key;
    this.layout();
    this.fitAll(false);
    if (focus) entry.pane.focus();
  }

  /** Alt+N: the Nth tab (from 0); nothing when there are fewer tabs. */
  activateAt(position: number): void {
    const key = this.order[position];
    if (key !== undefined) this.activate(key);
  }

  focusCurrent(): void {
    if (this.focusKey !== undefined) this.entries.get(this.focusKey)?.pane.focus();
  }

  setTitle(key: string, title: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    entry.title = title;
    setText(entry.tab, title);
    entry.floating?.setTitle(title);
    this.layout();
  }

  /** An ended console keeps its scrollback and may be closed; it no longer gets sizes. */
  setEnded(key: string, ended: boolean): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    entry.ended = ended;
    entry.tab.classList.toggle("ended", ended);
    entry.tabItem?.classList.toggle("ended", ended);
    if (!ended) entry.sentSize = undefined;
  }

  /** Sets (or with undefined removes) one named strip above a console's terminal, then refits it. */
  setNotice(key: string, name: string, node: HTMLElement | undefined): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    const old = [...entry.notices.children].find((c) => c instanceof HTMLElement && c.dataset.notice === name);
    if (node) {
      node.dataset.notice = name;
      if (old) old.replaceWith(node);
      else entry.notices.append(node);
    } else {
      old?.remove();
    }
    this.fitOne(entry, false);
  }

  /** Closes a console's tab for good: the terminal and its scrollback go. */
  close(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    const order = this.order;
    entry.floating?.destroy();
    entry.pane.dispose();
    entry.panel.remove();
    (entry.tabItem ?? entry.tab).remove();
    this.entries.delete(key);
    if (this.docked === key) this.docked = fallbackAfter(order, key, (k) => this.isDockable(k));
    if (this.focusKey === key) this.focusKey = this.docked ?? this.order[0];
    this.callbacks.closed(key);
    this.layout();
    this.fitAll(false);
    this.focusCurrent();
  }

  setSplit(on: boolean): void {
    this.splitOn = on;
    this.layout();
    this.fitAll(false);
  }

  /** Shows `key` on the right of the split, turning the split on. */
  splitWith(key: string): void {
    this.rightChoice = key;
    this.setSplit(true);
  }

  detach(key: string): void {
    const entry = this.entries.get(key);
    if (!entry || entry.floating) return;
    const order = this.order;
    entry.floating = new FloatingPanel(key, entry.title, entry.panel, {
      dock: () => this.dock(key),
      resized: () => this.fitOne(entry, false),
      focused: () => {
        this.focusKey = key;
        this.syncControls();
      },
    });
    document.body.append(entry.floating.element);
    if (this.docked === key) this.docked = fallbackAfter(order, key, (k) => this.isDockable(k));
    this.focusKey = key;
    this.layout();
    this.fitAll(false);
    entry.pane.focus();
  }

  dock(key: string): void {
    const entry = this.entries.get(key);
    if (!entry?.floating) return;
    entry.floating.destroy();
    entry.floating = undefined;
    this.stack.append(entry.panel);
    this.activate(key);
  }

  /** Fits every terminal to its box and sends the sizes that changed (every size, when forced). */
  fitAll(force: boolean): void {
    for (const entry of this.entries.values()) this.fitOne(entry, force);
  }

  /** A new worker knows no sizes yet: the next fit sends them all. */
  forgetSizes(): void {
    for (const entry of this.entries.values()) entry.sentSize = undefined;
  }

  private fitOne(entry: Entry, force: boolean): void {
    entry.pane.fit();
    const { cols, rows } = entry.pane.size;
    const size = `${cols}x${rows}`;
    if (entry.ended || (!force && entry.sentSize === size)) return;
    if (entry.resize(cols, rows)) entry.sentSize = size;
  }

  private isDockable(key: string): boolean {
    const entry = this.entries.get(key);
    return entry !== undefined && entry.floating === undefined;
  }

  private tabKey(key: string, ev: KeyboardEvent): void {
    // Arrow keys, Home and End move between tabs, as the ARIA tabs pattern expects.
    let next: string | undefined;
    if (ev.key === "ArrowLeft" || ev.key === "ArrowRight") next = neighbour(this.order, key, ev.key === "ArrowRight" ? 1 : -1);
    else if (ev.key === "Home") next = this.order[0];
    else if (ev.key === "End") next = this.order.at(-1);
    else if (ev.key === "Delete" && this.entries.get(key)?.ended) return this.close(key);
    if (next === undefined) return;
    ev.preventDefault();
    this.activate(next, false);
    this.entries.get(next)?.tab.focus();
  }

  /** Puts every panel where the state says: shown, left or right of a split, or hidden behind the others. */
  private layout(): void {
    if (this.docked === undefined || !this.isDockable(this.docked)) this.docked = this.order.find((k) => this.isDockable(k));
    const left = this.docked;
    this.right = this.splitOn && left !== undefined ? splitPartner(this.order, left, this.rightChoice, (k) => this.isDockable(k)) : undefined;
    for (const [key, entry] of this.entries) {
      const docked = entry.floating === undefined;
      const shown = docked && (key === left || key === this.right);
      entry.panel.classList.toggle("active", shown);
      entry.panel.classList.toggle("slot-left", docked && this.right !== undefined && key === left);
      entry.panel.classList.toggle("slot-right", docked && key === this.right);
      entry.tab.setAttribute("aria-selected", String(key === left));
      entry.tab.tabIndex = key === left ? 0 : -1;
      entry.tab.classList.toggle("detached", !docked);
      entry.tab.classList.toggle("beside", key === this.right);
      entry.tab.title = docked ? entry.title : `${entry.title} (detached: click to bring it forward)`;
    }
    this.stack.classList.toggle("split", this.right !== undefined);
    this.controls.empty.hidden = left !== undefined;
    this.syncControls();
  }

  private syncControls(): void {
    const { split, splitRight, detach } = this.controls;
    const dockable = this.order.filter((k) => this.isDockable(k));
    split.setAttribute("aria-pressed", String(this.splitOn));
    split.disabled = !this.splitOn && dockable.length < 2;
    split.title = split.disabled ? "Split needs two consoles in the tabs" : this.splitOn ? "Show one console again" : "Show two consoles side by side";
    const choices = dockable.filter((k) => k !== this.docked);
    const wanted = choices.map((k) => `${k}\n${this.entries.get(k)?.title ?? k}`).join("\t");
    if (splitRight.dataset.options !== wanted) {
      splitRight.dataset.options = wanted;
      splitRight.replaceChildren(...choices.map((k) => el("option", { text: this.entries.get(k)?.title ?? k, attrs: { value: k } })));
    }
    if (this.right !== undefined) splitRight.value = this.right;
    splitRight.hidden = this.right === undefined;
    const current = this.focusKey === undefined ? undefined : this.entries.get(this.focusKey);
    const floating = current?.floating !== undefined;
    setText(detach, floating ? "Dock" : "Detach");
    detach.disabled = current === undefined;
    detach.title = current ? (floating ? `Put ${current.title} back into the tabs` : `Pop ${current.title} out into a movable panel`) : "";
    detach.setAttribute("aria-label", detach.title || "Detach");
  }
}
