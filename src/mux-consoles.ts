// UML's extra consoles (conN=xterm, from the worker's console mux): one terminal tab per channel, opened,
// written and ended by the worker's messages; typing and sizes go back on the same mux.
import type { ConsoleMuxMessage } from "../workers/api.ts";
import type { ConsoleDeck } from "./console-deck.ts";
import { channelOf, muxKey } from "./console-keys.ts";
import { el } from "./dom.ts";
import { TerminalPane } from "./terminal-pane.ts";

/** The extra consoles are where long jobs run; keep more of what they printed than the fixed panes do. */
const MUX_SCROLLBACK = 10_000;

export interface MuxTab {
  channel: number;
  title: string;
  closed: boolean;
}

export interface MuxCallbacks {
  /** Sends to the current worker's mux; false when there is none. */
  send(message: Extract<ConsoleMuxMessage, { type: "input" | "resize" }>): boolean;
  /** Page shortcuts first, as in the fixed consoles; false keeps the key from the guest. */
  key(key: string, ev: KeyboardEvent): boolean;
  /** The user typed (for autosave's "anything new?"). */
  typed(): void;
  /** A tab opened, ended or closed: UML state strips and the test hook follow the list. */
  changed(): void;
  /** UML opened (or reopened) a channel's console. */
  opened(channel: number): void;
}

interface Channel {
  tab: MuxTab;
  pane: TerminalPane;
}

export class MuxConsoles {
  private readonly channels = new Map<number, Channel>();

  constructor(
    private readonly deck: ConsoleDeck,
    private readonly callbacks: MuxCallbacks,
  ) {}

  /** A message from the current worker's mux. */
  receive(message: ConsoleMuxMessage): void {
    if (message.type === "open") {
      this.open(message.channel, message.title);
    } else if (message.type === "output") {
      // Output without an open (a console UML opened before the page listened) still gets a tab.
      const channel = this.channels.get(message.channel) ?? this.open(message.channel, `Console #${message.channel}`);
      channel.pane.write(message.data);
    } else if (message.type === "close") {
      this.end(message.channel);
    }
  }

  /** Every open console ends, e.g. when the worker is replaced: their tabs and scrollback stay. */
  endAll(): void {
    for (const channel of this.channels.keys()) this.end(channel);
  }

  tabs(): MuxTab[] {
    return [...this.channels.values()].map((c) => ({ ...c.tab }));
  }

  /** Keys of the consoles still open, e.g. to show UML's paused strip on each. */
  openKeys(): string[] {
    return [...this.channels.values()].filter((c) => !c.tab.closed).map((c) => muxKey(c.tab.channel));
  }

  read(channel: number): string {
    return this.need(channel).pane.readAll();
  }

  type(channel: number, text: string): void {
    this.need(channel).pane.type(text);
  }

  size(channel: number): { cols: number; rows: number } {
    return this.need(channel).pane.size;
  }

  /** The deck closed the tab (an ended console): forget the channel. */
  forget(key: string): void {
    const channel = channelOf(key);
    if (channel === undefined) return;
    this.channels.delete(channel);
    this.callbacks.changed();
  }

  private need(channel: number): Channel {
    const c = this.channels.get(channel);
    if (!c) throw new Error(`no console tab for channel ${channel} (open: ${[...this.channels.keys()].join(", ") || "none"})`);
    return c;
  }

  private open(channel: number, title: string): Channel {
    const key = muxKey(channel);
    const existing = this.channels.get(channel);
    if (existing) {
      // UML opened the same channel again (after a restart): the tab lives on, scrollback and all.
      existing.tab.title = title;
      existing.tab.closed = false;
      this.deck.setTitle(key, title);
      this.deck.setEnded(key, false);
      this.deck.setNotice(key, "ended", undefined);
      this.deck.fitAll(false);
      this.callbacks.changed();
      this.callbacks.opened(channel);
      return existing;
    }
    const tab = el("button", { text: title, attrs: { type: "button", role: "tab", id: `tab-${key}`, "data-testid": `tab-${key}`, "aria-controls": `term-${key}`, "aria-selected": "false", tabindex: "-1" } });
    const close = el("button", { class: "tab-close", text: "×", attrs: { type: "button", "data-testid": `tab-close-${key}`, "aria-label": `Close the tab of ${title}`, title: "Close this tab (the console has ended)" } });
    close.addEventListener("click", () => this.deck.close(key));
    const tabItem = el("span", { class: "tab-item", attrs: { role: "presentation" } }, tab, close);
    const screen = el("div", { class: "term-screen" });
    const panel = el("div", { class: "term-pane", attrs: { id: `term-${key}`, "data-testid": `term-${key}`, role: "tabpanel", "aria-labelledby": `tab-${key}` } }, screen);
    this.deck.mount(panel);
    const pane = new TerminalPane(
      screen,
      {
        input: (bytes) => {
          this.callbacks.typed();
          this.callbacks.send({ type: "input", channel, data: bytes });
        },
        key: (ev) => this.callbacks.key(key, ev),
      },
      { scrollback: MUX_SCROLLBACK },
    );
    const entry: Channel = { tab: { channel, title, closed: false }, pane };
    this.channels.set(channel, entry);
    this.deck.add({
      key,
      title,
      pane,
      tab,
      tabItem,
      panel,
      resize: (cols, rows) => !this.channels.get(channel)?.tab.closed && this.callbacks.send({ type: "resize", channel, cols, rows }),
    });
    // Fitted and sized at once, so the login shell starts with the right window size.
    this.deck.fitAll(false);
    this.callbacks.changed();
    this.callbacks.opened(channel);
    return entry;
  }

  private end(channel: number): void {
    const c = this.channels.get(channel);
    if (!c || c.tab.closed) return;
    c.tab.closed = true;
    const key = muxKey(channel);
    this.deck.setEnded(key, true);
    const close = el("button", { class: "button small", text: "Close tab", attrs: { type: "button", "data-testid": `ended-close-${key}` } });
    close.addEventListener("click", () => this.deck.close(key));
    this.deck.setNotice(key, "ended", el("div", { class: "term-strip", attrs: { role: "status" } }, el("span", { text: `${c.tab.title} has closed; its scrollback stays here.` }), close));
    this.callbacks.changed();
  }
}
