// The UML toolkit's side panel: one of mconsole, Files, Kernel and Switch at a time, opened by its toggle in the
// console bar; closed, the terminals get the whole width.
import { byId, el } from "./dom.ts";

export const TOOLS = ["mconsole", "files", "kernel", "switch"] as const;
export type ToolName = (typeof TOOLS)[number];

export interface ToolkitCallbacks {
  /** A panel was shown (to refresh what it lists). */
  opened(name: ToolName): void;
}

export class ToolkitView {
  private readonly aside = byId("toolkit", HTMLElement);
  private readonly toggles: Record<ToolName, HTMLButtonElement>;
  private readonly slots: Record<ToolName, HTMLElement>;
  private shown: ToolName | undefined;

  constructor(panels: Record<ToolName, HTMLElement>, private readonly callbacks: ToolkitCallbacks) {
    this.toggles = {
      mconsole: byId("tool-mconsole", HTMLButtonElement),
      files: byId("tool-files", HTMLButtonElement),
      kernel: byId("tool-kernel", HTMLButtonElement),
      switch: byId("tool-switch", HTMLButtonElement),
    };
    const slot = (name: ToolName): HTMLElement => el("div", { class: "tool-slot", attrs: { "data-tool": name } }, panels[name]);
    this.slots = { mconsole: slot("mconsole"), files: slot("files"), kernel: slot("kernel"), switch: slot("switch") };
    const close = el("button", { class: "button small", text: "×", attrs: { type: "button", "data-testid": "toolkit-close", "aria-label": "Close the toolkit panel" } });
    close.addEventListener("click", () => this.close(true));
    this.aside.append(el("div", { class: "toolkit-bar" }, close), ...TOOLS.map((t) => this.slots[t]));
    for (const name of TOOLS) this.toggles[name].addEventListener("click", () => (this.shown === name ? this.close(false) : this.show(name)));
    // Escape leaves the panel, except where it already means something (a field, a list box).
    this.aside.addEventListener("keydown", (ev) => {
      if (ev.key !== "Escape" || ev.defaultPrevented || (ev.target instanceof HTMLElement && ev.target.matches("input, select, textarea"))) return;
      ev.preventDefault();
      this.close(true);
    });
    this.render();
  }

  get current(): ToolName | undefined {
    return this.shown;
  }

  show(name: ToolName): void {
    const was = this.shown;
    this.shown = name;
    this.render();
    if (was !== name) this.callbacks.opened(name);
  }

  /** `refocus` puts focus back on the panel's toggle, for keyboard users. */
  close(refocus: boolean): void {
    const was = this.shown;
    this.shown = undefined;
    this.render();
    if (refocus && was) this.toggles[was].focus();
  }

  private render(): void {
    this.aside.hidden = this.shown === undefined;
    for (const name of TOOLS) {
      const on = name === this.shown;
      this.slots[name].hidden = !on;
      this.toggles[name].setAttribute("aria-expanded", String(on));
      this.toggles[name].classList.toggle("on", on);
    }
  }
}
