// Finds umlab's private OSC markers (ESC ] 6973 ; text BEL) in a console byte stream.
// The guest's init scripts print them to announce boot stages; terminals ignore unknown OSCs.

const PREFIX = [0x1b, 0x5d, 0x36, 0x39, 0x37, 0x33, 0x3b]; // ESC ] 6 9 7 3 ;
const BEL = 0x07;
const MAX_MARKER = 256;

export class OscScanner {
  /** How much of PREFIX has matched, or PREFIX.length while collecting the text. */
  private matched = 0;
  private text: number[] = [];

  /** Feeds a chunk; returns the texts of markers completed in it. Split markers are handled. */
  scan(chunk: Uint8Array): string[] {
    const found: string[] = [];
    for (const byte of chunk) {
      if (this.matched === PREFIX.length) {
        if (byte === BEL) {
          found.push(new TextDecoder().decode(new Uint8Array(this.text)));
          this.reset();
        } else if (this.text.length >= MAX_MARKER) {
          this.reset();
        } else {
          this.text.push(byte);
        }
      } else if (byte === PREFIX[this.matched]) {
        this.matched++;
      } else {
        this.matched = byte === PREFIX[0] ? 1 : 0;
      }
    }
    return found;
  }

  private reset(): void {
    this.matched = 0;
    this.text = [];
  }
}
