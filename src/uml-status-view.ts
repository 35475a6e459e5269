// UML's state where the user looks: a badge by the console tabs, a "paused" strip on every UML console,
// and a banner in the UML console when UML halted or crashed, with its panic text and a Restart UML button.
import type { UmlState } from "../workers/api.ts";
import type { ConsoleDeck } from "./console-deck.ts";
import { el, setText } from "./dom.ts";
import { endedReport, PAUSED_NOTICE, umlBadge, type UmlPhase } from "./uml-status.ts";

export interface UmlStatusCallbacks {
  /** restartUml(); rejects with the worker's message. */
  restart(): Promise<void>;
  /** mconsole go; resolves with an error text to show, or undefined when UML resumed. */
  resume(): Promise<string | undefined>;
}

export class UmlStatusView {
  private readonly banner = el("div", { class: "term-strip ended-banner", attrs: { role: "alert", "data-testid": "uml-ended" } });
  private readonly bannerTitle = el("strong", { class: "ended-title" });
  private readonly bannerDetail = el("span", { class: "ended-detail", attrs: { "data-testid": "uml-exit" } });
  private readonly panic = el("pre", { class: "ended-panic", attrs: { "data-testid": "uml-panic", tabindex: "0", "aria-label": "UML's panic message" } });
  private readonly restartButton = el("button", { class: "button small primary", text: "Restart UML", attrs: { type: "button", "data-testid": "uml-restart" } });
  private readonly restartError = el("span", { class: "strip-error", attrs: { "data-testid": "uml-restart-error" } });
  private shownPaused = new Set<string>();
  private bannerShown = false;

  constructor(
    private readonly badge: HTMLElement,
    private readonly deck: ConsoleDeck,
    private readonly callbacks: UmlStatusCallbacks,
  ) {
    this.restartButton.addEventListener("click", () => void this.restart());
    this.banner.append(el("div", { class: "ended-head" }, this.bannerTitle, this.bannerDetail, this.restartButton, this.restartError), this.panic);
  }

  /** `consoles`: keys of UML's open consoles (con0 and the extra ones); `haltNote` is the boot's own halt text. */
  render(phase: UmlPhase | undefined, uml: UmlState | undefined, consoles: readonly string[], haltNote?: string): void {
    const badge = umlBadge(phase, uml);
    setText(this.badge, badge.text);
    this.badge.title = badge.title;
    this.badge.dataset.tone = badge.tone;
    this.badge.dataset.state = phase ?? "off";

    const pausedOn = new Set(phase === "paused" ? consoles : []);
    for (const key of this.shownPaused) if (!pausedOn.has(key)) this.deck.setNotice(key, "paused", undefined);
    for (const key of pausedOn) if (!this.shownPaused.has(key)) this.deck.setNotice(key, "paused", this.pausedStrip(key));
    this.shownPaused = pausedOn;

    const report = endedReport(phase, uml, haltNote);
    if (!report) {
      if (this.bannerShown) this.deck.setNotice("uml", "ended", undefined);
      this.bannerShown = false;
      setText(this.restartError, "");
      return;
    }
    setText(this.bannerTitle, report.title);
    setText(this.bannerDetail, report.detail);
    setText(this.panic, report.panic ?? "");
    this.panic.hidden = report.panic === undefined;
    if (!this.bannerShown) {
      this.restartButton.disabled = false;
      setText(this.restartError, "");
      this.deck.setNotice("uml", "ended", this.banner);
    }
    this.bannerShown = true;
  }

  /** One per console, with the console's key in its test ids: `uml-paused-uml`, `paused-go-console-2`. */
  private pausedStrip(key: string): HTMLElement {
    const go = el("button", { class: "button small", text: "go", attrs: { type: "button", "data-testid": `paused-go-${key}`, "aria-label": "Resume UML (mconsole go)" } });
    const error = el("span", { class: "strip-error" });
    go.addEventListener("click", () => {
      go.disabled = true;
      void this.callbacks.resume().then((message) => {
        go.disabled = false;
        setText(error, message ?? "");
      });
    });
    return el("div", { class: "term-strip paused-strip", attrs: { role: "status", "data-testid": `uml-paused-${key}` } }, el("span", { text: `${PAUSED_NOTICE}. What you type waits until then.` }), go, error);
  }

  private async restart(): Promise<void> {
    this.restartButton.disabled = true;
    setText(this.restartError, "Restarting…");
    try {
      await this.callbacks.restart();
      setText(this.restartError, "");
    } catch (err) {
      setText(this.restartError, `Restart failed: ${err instanceof Error ? err.message : String(err)}`);
      this.restartButton.disabled = false;
    }
  }
}
