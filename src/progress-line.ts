// A one-line progress report for copying files into the lab: a bar with bytes, or a busy bar when the
// amount is unknown (the worker takes a file in one call and says nothing until it is stored).
import { el, setText } from "./dom.ts";
import { formatBytes, percent } from "./format.ts";

export class ProgressLine {
  readonly element: HTMLElement;
  private readonly bar = el("progress", { class: "progress-bar", attrs: { max: "100" } });
  private readonly text = el("span", { class: "progress-text" });

  constructor(testId: string, label: string) {
    this.bar.setAttribute("aria-label", label);
    this.element = el("div", { class: "progress-line", attrs: { "data-testid": testId, role: "status", "aria-live": "polite" } }, this.bar, this.text);
    this.element.hidden = true;
  }

  /** With `loaded` and `total` a bar with bytes; without, an indeterminate bar. */
  show(text: string, loaded?: number, total?: number): void {
    this.element.hidden = false;
    if (loaded === undefined || total === undefined) {
      this.bar.removeAttribute("value");
      setText(this.text, text);
      return;
    }
    const pct = percent(loaded, total);
    this.bar.value = total === 0 ? 100 : pct;
    setText(this.text, `${text}: ${formatBytes(loaded)} of ${formatBytes(total)} (${total === 0 ? 100 : pct}%)`);
  }

  hide(): void {
    this.element.hidden = true;
    setText(this.text, "");
  }
}
