// A message that stays until dismissed or replaced (what went wrong, or what a long action did), as in the disk bar.
import { el } from "./dom.ts";

export class MessageBox {
  readonly element: HTMLElement;
  private readonly body = el("div", { class: "message-body" });

  constructor(testId: string) {
    const dismiss = el("button", { class: "button small", text: "Dismiss", attrs: { type: "button", "aria-label": "Dismiss the message" } });
    dismiss.addEventListener("click", () => this.clear());
    this.element = el("div", { class: "tool-message", attrs: { "data-testid": testId, role: "alert" } }, this.body, dismiss);
    this.element.hidden = true;
  }

  /** Strings become text; a worker's own words should be passed as a <pre> node so they stay verbatim. */
  show(parts: string | readonly (string | Node)[], tone: "bad" | "info" = "bad"): void {
    const list = typeof parts === "string" ? [parts] : parts;
    this.body.replaceChildren(...list.map((p) => (typeof p === "string" ? el("span", { text: p }) : p)));
    this.element.dataset.tone = tone;
    this.element.hidden = false;
  }

  clear(): void {
    this.body.replaceChildren();
    this.element.hidden = true;
  }
}

/** A worker's or UML's words, shown exactly as they came. */
export function verbatim(text: string, testId?: string): HTMLPreElement {
  return el("pre", { class: "verbatim", text, attrs: testId ? { "data-testid": testId } : {} });
}
