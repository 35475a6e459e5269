// A console popped out of the tab stack: a movable, resizable panel over the page, with a Dock button.
import { debounce } from "./debounce.ts";
import { el, setText } from "./dom.ts";
import { clampBox, initialBox, type Box } from "./panel-geometry.ts";

export interface FloatingCallbacks {
  dock(): void;
  /** The panel changed size: refit the terminal inside and tell the guest. */
  resized(): void;
  /** Focus moved into the panel: it is the console the keyboard now talks to. */
  focused(): void;
}

const RESIZE_DEBOUNCE_MS = 50;
/** Arrow keys on the grip move the panel by this much (Shift: four times as far). */
const KEY_STEP = 20;

let opened = 0;
let topLayer = 0;

export class FloatingPanel {
  readonly element: HTMLElement;
  private readonly title: HTMLElement;
  private box: Box;
  private readonly observer: ResizeObserver;
  private readonly onWindowResize = (): void => this.place(this.box);

  constructor(testKey: string, title: string, content: HTMLElement, private readonly callbacks: FloatingCallbacks) {
    this.title = el("span", { class: "floating-title", text: title });
    const grip = el("span", { class: "floating-grip", text: "⠿", attrs: { tabindex: "0", role: "button", "aria-label": `Move the ${title} panel (drag, or arrow keys)`, title: "Drag to move; arrow keys move it too" } });
    const dock = el("button", { class: "button small", text: "Dock", attrs: { type: "button", "data-testid": `float-dock-${testKey}`, "aria-label": `Dock ${title} back into the tabs` } });
    dock.addEventListener("click", () => this.callbacks.dock());
    const bar = el("div", { class: "floating-bar" }, grip, this.title, dock);
    const body = el("div", { class: "floating-body" }, content);
    this.element = el("section", { class: "floating", attrs: { "data-testid": `float-${testKey}`, "aria-label": `${title} (detached)` } }, bar, body);

    this.box = initialBox(opened++, this.viewport());
    this.place(this.box);
    this.raise();
    this.dragWith(bar);
    grip.addEventListener("keydown", (ev) => this.moveByKey(ev));
    this.element.addEventListener("pointerdown", () => this.raise());
    this.element.addEventListener("focusin", () => {
      this.raise();
      this.callbacks.focused();
    });
    const resized = debounce(() => {
      // The browser's resize handle changed the size: remember it, keep it inside the window.
      this.box = clampBox({ ...this.box, width: this.element.offsetWidth, height: this.element.offsetHeight }, this.viewport());
      this.callbacks.resized();
    }, RESIZE_DEBOUNCE_MS);
    this.observer = new ResizeObserver(resized);
    this.observer.observe(this.element);
    window.addEventListener("resize", this.onWindowResize);
  }

  setTitle(title: string): void {
    setText(this.title, title);
    this.element.setAttribute("aria-label", `${title} (detached)`);
  }

  /** Above every other floating panel. */
  raise(): void {
    this.element.style.zIndex = String(50 + ++topLayer);
  }

  /** Takes the panel off the page; the caller moves its content elsewhere first or after. */
  destroy(): void {
    this.observer.disconnect();
    window.removeEventListener("resize", this.onWindowResize);
    this.element.remove();
  }

  private viewport(): { width: number; height: number } {
    return { width: window.innerWidth, height: window.innerHeight };
  }

  private place(box: Box): void {
    this.box = clampBox(box, this.viewport());
    const s = this.element.style;
    s.left = `${this.box.left}px`;
    s.top = `${this.box.top}px`;
    s.width = `${this.box.width}px`;
    s.height = `${this.box.height}px`;
  }

  private dragWith(bar: HTMLElement): void {
    bar.addEventListener("pointerdown", (ev) => {
      if (ev.button !== 0 || (ev.target instanceof Element && ev.target.closest("button"))) return;
      ev.preventDefault();
      bar.setPointerCapture(ev.pointerId);
      const start = { x: ev.clientX, y: ev.clientY, left: this.box.left, top: this.box.top };
      const move = (e: PointerEvent): void => this.place({ ...this.box, left: start.left + e.clientX - start.x, top: start.top + e.clientY - start.y });
      const end = (): void => {
        bar.removeEventListener("pointermove", move);
        bar.removeEventListener("pointerup", end);
        bar.removeEventListener("pointercancel", end);
      };
      bar.addEventListener("pointermove", move);
      bar.addEventListener("pointerup", end);
      bar.addEventListener("pointercancel", end);
    });
  }

  private moveByKey(ev: KeyboardEvent): void {
    const step = ev.shiftKey ? KEY_STEP * 4 : KEY_STEP;
    const delta: Record<string, [number, number]> = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    const d = delta[ev.key];
    if (!d) return;
    ev.preventDefault();
    this.place({ ...this.box, left: this.box.left + d[0], top: this.box.top + d[1] });
  }
}
