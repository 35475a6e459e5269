// The disk bar: the storage line, Export / Import / Merge / Reset, and a message area for what went wrong.
import { byId, setText } from "./dom.ts";
import type { StorageLine } from "./disk-status.ts";

export interface DiskCallbacks {
  exportDisk(): void;
  importDisk(file: File): void;
  mergeDisk(): void;
  resetDisk(): void;
}

export class DiskView {
  private readonly status = byId("disk-status", HTMLElement);
  private readonly exportButton = byId("disk-export", HTMLButtonElement);
  private readonly importButton = byId("disk-import", HTMLButtonElement);
  private readonly importFile = byId("disk-import-file", HTMLInputElement);
  private readonly mergeButton = byId("disk-merge", HTMLButtonElement);
  private readonly resetButton = byId("disk-reset", HTMLButtonElement);
  private readonly message = byId("disk-message", HTMLElement);
  private readonly messageText = byId("disk-message-text", HTMLElement);

  constructor(callbacks: DiskCallbacks) {
    this.exportButton.addEventListener("click", () => callbacks.exportDisk());
    this.importButton.addEventListener("click", () => this.importFile.click());
    this.importFile.addEventListener("change", () => {
      const file = this.importFile.files?.[0];
      // Cleared so choosing the same file again still fires change.
      this.importFile.value = "";
      if (file) callbacks.importDisk(file);
    });
    this.mergeButton.addEventListener("click", () => callbacks.mergeDisk());
    this.resetButton.addEventListener("click", () => callbacks.resetDisk());
    byId("disk-message-dismiss", HTMLButtonElement).addEventListener("click", () => this.clearMessage());
  }

  render(line: StorageLine): void {
    setText(this.status, line.text);
    if (this.status.dataset.mode !== line.mode) this.status.dataset.mode = line.mode;
    if (this.status.dataset.tone !== line.tone) this.status.dataset.tone = line.tone;
  }

  setEnabled(enabled: { exportDisk: boolean; importDisk: boolean; mergeDisk: boolean; resetDisk: boolean }, readOnly: boolean): void {
    this.exportButton.disabled = !enabled.exportDisk;
    // The hidden file input stays enabled: whoever drives it directly gets the app's own refusal in the message area.
    this.importButton.disabled = !enabled.importDisk;
    this.mergeButton.disabled = !enabled.mergeDisk;
    this.resetButton.disabled = !enabled.resetDisk;
    const why = readOnly ? " (off in a read-only tab)" : "";
    this.importButton.title = `Replace this lab's disk with an exported .cow or .cow.gz file, then boot it${why}`;
    this.mergeButton.title = `Fold the COW into this lab's private copy of the root image with uml_moo (UML restarts; needs UML at its prompt)${why}`;
    this.resetButton.title = `Delete this lab's disk and saved sessions and start from the pristine image${why}`;
  }

  /** Stays until dismissed or replaced, unlike the footer's passing notices. */
  showMessage(text: string, tone: "bad" | "info" = "bad"): void {
    setText(this.messageText, text);
    this.message.dataset.tone = tone;
    this.message.hidden = false;
  }

  clearMessage(): void {
    setText(this.messageText, "");
    this.message.hidden = true;
  }
}
