// Modal dialogs on <dialog>: labelled, Enter takes the default action, Escape means cancel, and focus goes
// back where the caller says.
import { el } from "./dom.ts";

export interface DialogAction {
  label: string;
  testId: string;
  tone?: "primary" | "danger";
  disabled?: boolean;
  /** Tooltip, e.g. why the action is disabled. */
  title?: string;
  /** Gets focus when the dialog opens; destructive dialogs give it to the safe choice. */
  autofocus?: boolean;
  onClick(): void;
}

export interface DialogSpec {
  testId: string;
  title: string;
  /** Paragraphs. */
  body: readonly (Node | string)[];
  actions: readonly DialogAction[];
  /** Escape, or close() from outside an action: what backing out means for this dialog. */
  onCancel(): void;
  /** Called after the dialog has closed, to put focus back (usually on the terminal). */
  returnFocus(): void;
}

let nextId = 0;

export class Modal {
  readonly element: HTMLDialogElement;
  private readonly body: HTMLDivElement;
  private readonly buttons = new Map<string, HTMLButtonElement>();
  /** Set when an action closed the dialog, so the close event does not also count as cancel. */
  private settled = false;

  constructor(private readonly spec: DialogSpec) {
    const id = `dialog-${++nextId}`;
    this.body = el("div", { class: "dialog-body", attrs: { id: `${id}-body` } });
    this.setBody(...spec.body);
    const actions = el("div", { class: "dialog-actions" });
    for (const action of spec.actions) {
      const button = el("button", {
        class: `button${action.tone ? ` ${action.tone}` : ""}`,
        text: action.label,
        attrs: { type: "button", "data-testid": action.testId, ...(action.title ? { title: action.title } : {}) },
      });
      button.disabled = action.disabled ?? false;
      button.autofocus = action.autofocus ?? false;
      button.addEventListener("click", () => action.onClick());
      this.buttons.set(action.testId, button);
      actions.append(button);
    }
    this.element = el(
      "dialog",
      { class: "modal", attrs: { "data-testid": spec.testId, "aria-labelledby": `${id}-title`, "aria-describedby": `${id}-body` } },
      el("h2", { class: "dialog-title", text: spec.title, attrs: { id: `${id}-title` } }),
      this.body,
      actions,
    );
    // Enter anywhere else in the dialog (its text, the dialog itself) means its default action, as a form's
    // submit would; buttons, links and fields handle Enter themselves.
    this.element.addEventListener("keydown", (ev) => {
      if (ev.key !== "Enter" || ev.isComposing || ev.defaultPrevented) return;
      if (ev.target instanceof Element && ev.target.closest("button, a[href], input, select, textarea, summary")) return;
      const action = spec.actions.find((a) => a.autofocus && !a.disabled) ?? spec.actions.find((a) => a.tone === "primary" && !a.disabled);
      if (!action) return;
      ev.preventDefault();
      this.buttons.get(action.testId)?.click();
    });
    // Escape closes a modal <dialog> by itself; treat every close no action asked for as cancel.
    this.element.addEventListener("close", () => {
      this.element.remove();
      if (!this.settled) {
        this.settled = true;
        this.spec.onCancel();
      }
      this.spec.returnFocus();
    });
  }

  open(): void {
    document.body.append(this.element);
    this.element.showModal();
  }

  /** Replaces the text, e.g. "Waiting for the other tab…" after a choice that keeps the dialog open. */
  setBody(...paragraphs: (Node | string)[]): void {
    this.body.replaceChildren(...paragraphs.map((p) => (typeof p === "string" ? el("p", { text: p }) : p)));
  }

  button(testId: string): HTMLButtonElement | undefined {
    return this.buttons.get(testId);
  }

  /** Closes after an action; onCancel is not called. */
  close(): void {
    this.settled = true;
    if (this.element.open) this.element.close();
  }
}

export interface ConfirmSpec {
  title: string;
  body: readonly (Node | string)[];
  /** Label of the button that goes ahead. */
  ok: string;
  danger?: boolean;
  returnFocus(): void;
}

/** Resolves true for confirm-ok, false for confirm-cancel or Escape. */
export function confirmDialog(spec: ConfirmSpec): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const modal: Modal = new Modal({
      testId: "confirm-dialog",
      title: spec.title,
      body: spec.body,
      actions: [
        {
          label: "Cancel",
          testId: "confirm-cancel",
          autofocus: !!spec.danger,
          onClick: () => {
            modal.close();
            resolve(false);
          },
        },
        {
          label: spec.ok,
          testId: "confirm-ok",
          tone: spec.danger ? "danger" : "primary",
          autofocus: !spec.danger,
          onClick: () => {
            modal.close();
            resolve(true);
          },
        },
      ],
      onCancel: () => resolve(false),
      returnFocus: spec.returnFocus,
    });
    modal.open();
  });
}
