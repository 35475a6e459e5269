// Running one command in an interactive guest shell and getting its output and exit status back.
// The shell echoes what we type, so markers are assembled by printf at run time and never appear
// literally in the typed line: only real output can contain them.

const RS = "\x1e";

export interface ShellCommand {
  /** The line to type, ending in a newline. */
  line: string;
  begin: string;
  end: string;
}

/** Single-quotes text for a POSIX shell. */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

export function buildShellCommand(command: string, nonce: string): ShellCommand {
  const begin = `${RS}B${nonce}${RS}`;
  const end = `${RS}E${nonce}`;
  // A child shell keeps a syntax error in the command from abandoning the rest of the typed line
  // (ash drops it, end marker included); </dev/null keeps stdin readers off the console.
  const line = `printf '\\036B%s\\036\\n' ${nonce}; sh -c ${shellQuote(command)} </dev/null; printf '\\036E%s %d\\036\\n' ${nonce} $?\n`;
  return { line, begin, end };
}

/** Collects console output for one command; emits output as it arrives, holding back a possible partial end marker. */
export class ShellOutputParser {
  private buffer = "";
  private started = false;
  private skipNewline = true;
  private exitCode: number | undefined;

  constructor(
    private readonly command: ShellCommand,
    private readonly onOutput: (text: string) => void,
  ) {}

  get done(): boolean {
    return this.exitCode !== undefined;
  }

  get status(): number | undefined {
    return this.exitCode;
  }

  push(text: string): void {
    if (this.done) return;
    this.buffer += text;
    if (!this.started) {
      const at = this.buffer.indexOf(this.command.begin);
      if (at < 0) {
        this.buffer = this.buffer.slice(-this.command.begin.length);
        return;
      }
      this.started = true;
      this.buffer = this.buffer.slice(at + this.command.begin.length);
    }
    if (this.skipNewline) {
      // The begin marker's own line end, which may arrive in a later chunk.
      if (this.buffer === "" || this.buffer === "\r") return;
      this.buffer = this.buffer.replace(/^\r?\n/, "");
      this.skipNewline = false;
    }
    const endAt = this.buffer.indexOf(this.command.end);
    if (endAt >= 0) {
      const m = new RegExp(`^ (\\d+)${RS}`).exec(this.buffer.slice(endAt + this.command.end.length));
      if (!m) return; // the status has not fully arrived yet
      this.emit(this.buffer.slice(0, endAt));
      this.exitCode = Number(m[1]);
      this.buffer = "";
      return;
    }
    // Keep back as much as could be the start of the end marker.
    const keep = this.command.end.length + 8;
    if (this.buffer.length > keep) {
      this.emit(this.buffer.slice(0, this.buffer.length - keep));
      this.buffer = this.buffer.slice(-keep);
    }
  }

  private emit(text: string): void {
    if (text) this.onOutput(text.replace(/\r\n/g, "\n"));
  }
}
