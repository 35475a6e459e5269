// Holds console output back while a boot may still restore saved screens, so they land before live bytes.

/** Past this much held output the gate opens anyway: screens arriving late beat unbounded memory. */
export const MAX_HELD_BYTES = 4 * 1024 * 1024;

export class OutputGate<K extends string> {
  private held: [K, Uint8Array][] | undefined;
  private heldBytes = 0;

  constructor(private readonly sink: (id: K, bytes: Uint8Array) => void) {}

  get holding(): boolean {
    return this.held !== undefined;
  }

  /** From now on, output waits for release(). */
  hold(): void {
    this.held = [];
    this.heldBytes = 0;
  }

  push(id: K, bytes: Uint8Array): void {
    if (!this.held) return this.sink(id, bytes);
    this.held.push([id, bytes]);
    this.heldBytes += bytes.byteLength;
    if (this.heldBytes > MAX_HELD_BYTES) this.release();
  }

  /** Runs `first` (e.g. writing restored screens), then delivers what was held, in order; later output flows through. */
  release(first?: () => void): void {
    const held = this.held;
    this.held = undefined;
    this.heldBytes = 0;
    first?.();
    for (const [id, bytes] of held ?? []) this.sink(id, bytes);
  }

  /** Forgets held output, e.g. from a machine that is being replaced. */
  drop(): void {
    if (this.held) this.hold();
  }
}
