// The worker's side of umlab-agent on the host (virtio-console port 1): one command line out, one reply
// line back, one command at a time. Each reply names its command ("ok time …", "error merge: …"): a line
// that answers another command is a late one (a timed-out request's, or one a restored state was still
// working on when it was saved) and is dropped, never taken as this command's reply.
export class AgentChannel {
  private buffer = "";
  private readonly decoder = new TextDecoder();
  private readonly pending: PendingRequest[] = [];
  private waiting: ((line: string) => void) | undefined;

  constructor(private readonly send: (bytes: Uint8Array) => void) {}

  /** Feed the bytes the guest wrote on the agent's port. */
  receive(bytes: Uint8Array): void {
    this.buffer += this.decoder.decode(bytes, { stream: true });
    let nl: number;
    while ((nl = this.buffer.indexOf("\n")) >= 0) {
      const line = this.buffer.slice(0, nl).replace(/\r$/, "");
      this.buffer = this.buffer.slice(nl + 1);
      this.waiting?.(line);
    }
  }

  /** Sends `command` and resolves with the reply line; rejects after `timeoutMs` or on an "error" reply. */
  request(command: string, timeoutMs = 10_000): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      this.pending.push({ command, timeoutMs, resolve, reject });
      if (this.pending.length === 1) this.next();
    });
  }

  private next(): void {
    const head = this.pending[0];
    if (!head) return;
    const finish = (): void => {
      this.waiting = undefined;
      this.pending.shift();
      this.next();
    };
    const timer = setTimeout(() => {
      finish();
      head.reject(new Error(`the host agent did not answer "${head.command}" within ${head.timeoutMs / 1000} s`));
    }, head.timeoutMs);
    this.waiting = (line) => {
      if (!answers(line, head.command)) return;
      clearTimeout(timer);
      finish();
      if (line.startsWith("ok")) head.resolve(line);
      else head.reject(new Error(`the host agent answered "${head.command}" with: ${line}`));
    };
    this.send(new TextEncoder().encode(`${head.command}\n`));
  }
}

/** True when `line` is the agent's reply to `command` (imconsole replies as mconsole does). */
export function answers(line: string, command: string): boolean {
  const word = command.split(" ", 1)[0] ?? "";
  if (line === `error unknown command ${word}`) return true;
  const replied = /^(?:ok|error) ([^\s:]+)/.exec(line)?.[1];
  return replied === (word === "imconsole" ? "mconsole" : word);
}

interface PendingRequest {
  command: string;
  timeoutMs: number;
  resolve(line: string): void;
  reject(err: Error): void;
}
