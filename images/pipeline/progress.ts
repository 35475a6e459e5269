// Step-by-step progress for long builds: which step runs, for how long, and the tail of its output.
import { spawn } from "node:child_process";

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

const HEARTBEAT_MS = 20_000;

export class Progress {
  private readonly started = Date.now();
  private readonly stepStarted = new Map<string, number>();
  private lastLine = 0;
  private heartbeat: ReturnType<typeof setInterval> | undefined;

  start(step: string, what: string): void {
    this.stepStarted.set(step, Date.now());
    this.print(`▶ ${step}: ${what}`);
    this.stopHeartbeat();
    // Quiet steps (a silent make) still say they are alive.
    this.heartbeat = setInterval(() => {
      if (Date.now() - this.lastLine >= HEARTBEAT_MS) this.output(step, "still working");
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  skip(step: string, why: string): void {
    this.stopHeartbeat();
    this.print(`✓ ${step}: ${why}`);
  }

  done(step: string): void {
    this.stopHeartbeat();
    const t = this.stepStarted.get(step) ?? Date.now();
    this.print(`✓ ${step}: done in ${seconds(Date.now() - t)}`);
  }

  private stopHeartbeat(): void {
    if (this.heartbeat !== undefined) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  /** A line of a running step's output, at most one every 5 s so logs stay short. */
  output(step: string, line: string): void {
    const now = Date.now();
    if (now - this.lastLine < 5000) return;
    this.lastLine = now;
    const t = this.stepStarted.get(step) ?? now;
    this.print(`  ${step} ${seconds(now - t)}: ${line.slice(0, 120)}`);
  }

  /** A line that must not be dropped, e.g. why an attempt failed. */
  note(step: string, line: string): void {
    const t = this.stepStarted.get(step) ?? Date.now();
    this.print(`  ${step} ${seconds(Date.now() - t)}: ${line}`);
  }

  finish(message: string): void {
    this.print(`${message} (total ${seconds(Date.now() - this.started)})`);
  }

  private print(line: string): void {
    process.stdout.write(`[${seconds(Date.now() - this.started).padStart(7)}] ${line}\n`);
  }
}

export interface RunOptions {
  env?: Record<string, string>;
  quiet?: boolean;
  logPrefix?: string;
  progress?: Progress;
  stdin?: string;
}

/** Runs a command; resolves with its stdout, rejects with its last output lines on failure. */
export function run(cmd: string, args: string[], options: RunOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      env: { ...process.env, ...options.env },
      stdio: [options.stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    if (options.stdin !== undefined) child.stdin?.end(options.stdin);
    let stdout = "";
    const tail: string[] = [];
    const onData = (chunk: Buffer, keep: boolean): void => {
      const text = chunk.toString("utf8");
      if (keep) stdout += text;
      for (const line of text.split("\n")) {
        if (!line.trim()) continue;
        tail.push(line);
        if (tail.length > 40) tail.shift();
        if (options.progress && options.logPrefix) options.progress.output(options.logPrefix, line);
      }
    };
    child.stdout?.on("data", (c: Buffer) => onData(c, true));
    child.stderr?.on("data", (c: Buffer) => onData(c, false));
    child.on("error", (err) => reject(new Error(`${cmd}: ${err.message}`)));
    child.on("close", (code) => {
      if (code === 0) resolve(stdout);
      else reject(new Error(`${options.logPrefix ?? cmd} failed (exit ${code ?? "signal"}). Last output:\n${tail.join("\n")}`));
    });
  });
}
