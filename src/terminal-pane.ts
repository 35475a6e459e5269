// One console's xterm.js terminal: fitting, byte I/O, reading the buffer back, saving and restoring the screen.
import { Terminal, type ITheme } from "@xterm/xterm";
import { FitAddon } from "@xterm/addon-fit";
import { SerializeAddon } from "@xterm/addon-serialize";

/** Scrollback lines kept in a saved session's screen; enough context without bloating every session. */
const SAVED_SCROLLBACK = 1000;

const THEME: ITheme = {
  background: "#0d1117",
  foreground: "#d6dbe2",
  cursor: "#e6edf3",
  cursorAccent: "#0d1117",
  selectionBackground: "#264f78",
  black: "#1b1f24",
  red: "#f47067",
  green: "#7ee787",
  yellow: "#e3b341",
  blue: "#6cb6ff",
  magenta: "#dcbdfb",
  cyan: "#76e3ea",
  white: "#c9d1d9",
  brightBlack: "#6e7681",
  brightRed: "#ff938a",
  brightGreen: "#a6f0b0",
  brightYellow: "#f2cc60",
  brightBlue: "#96d0ff",
  brightMagenta: "#e8d2ff",
  brightCyan: "#b3f0ff",
  brightWhite: "#f0f6fc",
};

export const FONT_STACK = '"JetBrains Mono", "Fira Code", "Cascadia Mono", "DejaVu Sans Mono", "Liberation Mono", Menlo, Consolas, monospace';

export interface PaneCallbacks {
  /** Bytes the user typed or pasted, for the guest. */
  input(bytes: Uint8Array): void;
  /** Return false to keep the key from xterm (and so from the guest). */
  key(event: KeyboardEvent): boolean;
}

export interface PaneOptions {
  /** Lines kept above the screen; default 5000. */
  scrollback?: number;
}

export class TerminalPane {
  readonly terminal: Terminal;
  private readonly fitAddon = new FitAddon();
  private readonly serializeAddon = new SerializeAddon();
  private readonly encoder = new TextEncoder();

  constructor(
    readonly element: HTMLElement,
    private readonly callbacks: PaneCallbacks,
    options: PaneOptions = {},
  ) {
    this.terminal = new Terminal({
      scrollback: options.scrollback ?? 5000,
      // The guest's tty already sends CRLF.
      convertEol: false,
      fontFamily: FONT_STACK,
      fontSize: 14,
      lineHeight: 1.1,
      cursorBlink: true,
      theme: THEME,
      allowProposedApi: false,
    });
    this.terminal.loadAddon(this.fitAddon);
    this.terminal.loadAddon(this.serializeAddon);
    this.terminal.attachCustomKeyEventHandler((ev) => this.callbacks.key(ev));
    this.terminal.onData((text) => this.type(text));
    // onBinary carries one byte per char (some mouse reports); UTF-8 encoding would mangle them.
    this.terminal.onBinary((text) => this.callbacks.input(Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff)));
    this.terminal.open(element);
  }

  get size(): { cols: number; rows: number } {
    return { cols: this.terminal.cols, rows: this.terminal.rows };
  }

  /** Resizes to the container; skipped while it has no box (display:none), which would give nonsense sizes. */
  fit(): void {
    if (this.element.clientWidth > 0 && this.element.clientHeight > 0) this.fitAddon.fit();
  }

  /** Same path as the keyboard: text as UTF-8 to the guest. */
  type(text: string): void {
    if (text) this.callbacks.input(this.encoder.encode(text));
  }

  write(bytes: Uint8Array): void {
    this.terminal.write(bytes);
  }

  paste(text: string): void {
    this.terminal.paste(text);
  }

  focus(): void {
    this.terminal.focus();
  }

  /** Clears screen and scrollback for a fresh boot. */
  reset(): void {
    this.terminal.reset();
  }

  /** Screen, recent scrollback, cursor and modes as escape sequences that restore() replays. */
  serialize(): string {
    return this.serializeAddon.serialize({ scrollback: SAVED_SCROLLBACK });
  }

  /** Replaces the contents with a serialize() result, e.g. a resumed session's screen. */
  restore(screen: string): void {
    this.terminal.reset();
    this.terminal.write(screen);
  }

  /** Frees the terminal for good, e.g. when its tab is closed. */
  dispose(): void {
    this.terminal.dispose();
  }

  selection(): string {
    return this.terminal.getSelection();
  }

  /** Scrollback and screen as text, one line per row, trailing spaces trimmed. */
  readAll(): string {
    const buffer = this.terminal.buffer.active;
    const lines: string[] = [];
    for (let i = 0; i < buffer.length; i++) lines.push(buffer.getLine(i)?.translateToString(true) ?? "");
    return lines.join("\n");
  }
}
