// Feeds console input to a virtio-console port no faster than the guest posts receive buffers.
// v86 drops input that arrives while the guest has no buffer queued, which loses pasted text.
import type { V86 } from "v86";
import { busOf, virtioConsoleReceiveQueue } from "./v86-internals.ts";

const CHUNK = 1024;
const RETRY_MS = 4;

export class ConsoleInputPump {
  private pending: Uint8Array[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private disposed = false;

  constructor(
    private readonly emulator: V86,
    private readonly port: number,
  ) {}

  push(bytes: Uint8Array): void {
    if (this.disposed || bytes.length === 0) return;
    for (let i = 0; i < bytes.length; i += CHUNK) this.pending.push(bytes.slice(i, i + CHUNK));
    this.pump();
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.pending = [];
  }

  private pump(): void {
    if (this.timer !== undefined) return;
    const queue = virtioConsoleReceiveQueue(this.emulator, this.port);
    while (this.pending.length > 0) {
      if (queue && !queue.has_request()) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          if (!this.disposed) this.pump();
        }, RETRY_MS);
        return;
      }
      const chunk = this.pending.shift();
      if (chunk) busOf(this.emulator).send(`virtio-console${this.port}-input-bytes`, chunk);
    }
  }
}
