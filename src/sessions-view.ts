// The saved-sessions popover under the Sessions button: one row per session with Resume and Delete.
import type { SessionInfo } from "../workers/api.ts";
import { el, setText } from "./dom.ts";
import { sessionRow, sortSessions } from "./sessions.ts";

export interface SessionsCallbacks {
  /** The panel opened: fetch the list and call render() or showError(). */
  opened(): void;
  resume(session: SessionInfo): void;
  remove(session: SessionInfo): void;
}

export class SessionsView {
  private readonly list: HTMLUListElement;
  private readonly note: HTMLParagraphElement;

  constructor(
    private readonly button: HTMLButtonElement,
    private readonly panel: HTMLElement,
    private readonly callbacks: SessionsCallbacks,
  ) {
    this.list = el("ul", { class: "session-items" });
    this.note = el("p", { class: "session-note" });
    panel.append(this.note, this.list);
    button.addEventListener("click", () => (this.isOpen ? this.close(false) : this.open()));
    // Escape closes it whether focus is in the list or still on its button.
    document.addEventListener("keydown", (ev) => {
      if (ev.key !== "Escape" || !this.isOpen || !(ev.target instanceof Node) || !(panel.contains(ev.target) || button.contains(ev.target))) return;
      ev.preventDefault();
      this.close(true);
    });
    // A click anywhere else closes the popover, as menus do.
    document.addEventListener("pointerdown", (ev) => {
      if (this.isOpen && ev.target instanceof Node && !panel.contains(ev.target) && !button.contains(ev.target)) this.close(false);
    });
  }

  get isOpen(): boolean {
    return !this.panel.hidden;
  }

  open(): void {
    this.panel.hidden = false;
    this.button.setAttribute("aria-expanded", "true");
    this.showNote("Loading…");
    this.callbacks.opened();
  }

  /** `refocus` puts focus back on the button, for keyboard users who closed it with Escape. */
  close(refocus: boolean): void {
    if (!this.isOpen) return;
    this.panel.hidden = true;
    this.button.setAttribute("aria-expanded", "false");
    if (refocus) this.button.focus();
  }

  showError(message: string): void {
    this.list.replaceChildren();
    this.showNote(message, true);
  }

  /** `readOnly`: a second tab may resume but not delete, since deleting writes to the lab's storage. */
  render(sessions: readonly SessionInfo[], now: number, readOnly: boolean): void {
    const sorted = sortSessions(sessions);
    this.showNote(sorted.length === 0 ? "No saved sessions yet. Save one with Save session (Ctrl+Shift+S)." : "");
    this.list.replaceChildren(...sorted.map((session) => this.item(session, now, readOnly)));
  }

  private item(session: SessionInfo, now: number, readOnly: boolean): HTMLLIElement {
    const row = sessionRow(session, now);
    const resume = el("button", { class: "button small primary", text: "Resume", attrs: { type: "button", "data-testid": "session-resume", "aria-label": row.resumeLabel } });
    resume.addEventListener("click", () => {
      this.close(false);
      this.callbacks.resume(session);
    });
    const remove = el("button", { class: "button small", text: "Delete", attrs: { type: "button", "data-testid": "session-delete", "aria-label": `Delete the ${row.kind} session saved ${row.when}` } });
    remove.disabled = readOnly;
    if (readOnly) remove.title = "This tab is read-only";
    remove.addEventListener("click", () => {
      remove.disabled = true;
      this.callbacks.remove(session);
    });
    const facts = el(
      "span",
      { class: "session-facts" },
      el("span", { class: "session-when", text: row.when }),
      el("span", { class: "session-ago", text: row.ago }),
      el("span", { class: `badge kind-${row.kind}`, text: row.kind }),
      el("span", { class: "session-size", text: row.size }),
      el("span", { class: "session-kernel", text: session.kernel }),
    );
    if (session.current) facts.append(el("span", { class: "badge current", text: "current", attrs: { title: "Taken with the disk as it is now: a normal start resumes it" } }));
    return el("li", { class: "session", attrs: { "data-session-id": session.id, "data-kind": session.kind, "data-current": String(session.current) } }, facts, el("span", { class: "session-actions" }, resume, remove));
  }

  private showNote(text: string, error = false): void {
    setText(this.note, text);
    this.note.hidden = text === "";
    this.note.classList.toggle("error", error);
  }
}
