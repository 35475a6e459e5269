// Wires the emulator worker, the two terminals and the views together; one boot at a time.
import type { BootError, BootResult, ConsoleId, DownloadProgress, ImageManifest, KernelFlavour, StageEvent } from "../workers/api.ts";
import { applyDownload, applyFailure, applyStage, downloadTotals, initialBootState, isSettled, isVisibleStage, STAGE_LABELS, type BootState } from "./boot-state.ts";
import { BootView } from "./boot-view.ts";
import { debounce } from "./debounce.ts";
import { byId, el, setText } from "./dom.ts";
import { EmulatorClient, errorText } from "./emulator-client.ts";
import { errorView } from "./error-view.ts";
import { keyAction, type KeyAction } from "./key-actions.ts";
import { DEFAULT_KERNEL, isKernel, kernelFromSearch, KERNELS, urlWithKernel } from "./options.ts";
import { bootProblem, guestProblem, unknownKernelProblem, workerProblem, type Problem } from "./problems.ts";
import { TerminalPane } from "./terminal-pane.ts";
import type { UmlabTestHook } from "./test-hook.d.ts";

const CONSOLES: readonly ConsoleId[] = ["uml", "host"];
/** A worker that does not stop within this long is replaced rather than waited for. */
const STOP_TIMEOUT_MS = 5000;
const RESIZE_DEBOUNCE_MS = 50;
const CLOCK_TICK_MS = 100;

export class App {
  readonly hook: UmlabTestHook;
  private readonly panes: Record<ConsoleId, TerminalPane>;
  private readonly tabs: Record<ConsoleId, HTMLButtonElement>;
  private readonly bootView: BootView;
  private readonly select = byId("kernel-select", HTMLSelectElement);
  private readonly restartButton = byId("restart", HTMLButtonElement);
  private readonly status = byId("status", HTMLElement);
  private readonly notice = byId("notice", HTMLElement);
  private readonly errorSlot = byId("error-slot", HTMLElement);
  private client: EmulatorClient | undefined;
  /** Bumped per boot; reports from older boots are dropped. */
  private generation = 0;
  private state: BootState = initialBootState();
  private kernel: KernelFlavour = DEFAULT_KERNEL;
  /** The latest worker time and when it arrived, to run the active stage's clock between reports. */
  private clock = { at: 0, page: 0 };
  private active: ConsoleId = "uml";
  private readonly sentSize: Record<ConsoleId, string | undefined> = { uml: undefined, host: undefined };
  private noticeTimer: ReturnType<typeof setTimeout> | undefined;

  constructor() {
    const pane = (id: ConsoleId): TerminalPane =>
      new TerminalPane(byId(`term-${id}`, HTMLElement), {
        input: (bytes) => this.client?.sendInput(id, bytes),
        key: (ev) => this.onTerminalKey(id, ev),
      });
    this.panes = { uml: pane("uml"), host: pane("host") };
    this.tabs = { uml: byId("tab-uml", HTMLButtonElement), host: byId("tab-host", HTMLButtonElement) };

    this.bootView = new BootView(() => this.restart());
    byId("boot-slot", HTMLElement).replaceWith(this.bootView.element);

    for (const k of KERNELS) this.select.append(el("option", { text: k, attrs: { value: k } }));
    this.select.addEventListener("change", () => this.markPendingKernel());
    this.restartButton.addEventListener("click", () => this.restart());

    for (const id of CONSOLES) {
      this.tabs[id].addEventListener("click", () => this.activate(id));
      this.tabs[id].addEventListener("keydown", (ev) => {
        // Arrow keys move between tabs, as the ARIA tabs pattern expects.
        if (ev.key === "ArrowLeft" || ev.key === "ArrowRight") {
          ev.preventDefault();
          const next = id === "uml" ? "host" : "uml";
          this.activate(next, false);
          this.tabs[next].focus();
        }
      });
    }
    // Alt+1/2 also work while focus is outside the terminals; inside, the terminal's handler already acted.
    window.addEventListener("keydown", (ev) => {
      if (ev.defaultPrevented) return;
      const action = keyAction(ev);
      if (action === "tab-uml" || action === "tab-host") {
        ev.preventDefault();
        this.perform(action, this.active);
      }
    });

    const refit = debounce(() => this.sendSizes(false), RESIZE_DEBOUNCE_MS);
    new ResizeObserver(refit).observe(byId("term-stack", HTMLElement));
    // Cell size depends on the web font, which may arrive after the first fit.
    void document.fonts.ready.then(() => this.sendSizes(false));
    setInterval(() => this.tick(), CLOCK_TICK_MS);

    this.hook = {
      stage: "idle",
      stageTimes: {},
      bootError: undefined,
      downloadedBytes: 0,
      readConsole: (id) => this.panes[id].readAll(),
      typeInto: (id, text) => this.panes[id].type(text),
      consoleSize: (id) => this.panes[id].size,
    };
    this.activate("uml", false);
  }

  /** Boots the kernel named in the address, or explains why it cannot. */
  start(): void {
    const choice = kernelFromSearch(location.search);
    if (!choice.ok) {
      this.select.value = DEFAULT_KERNEL;
      this.setStatus("Not started", "bad");
      this.showProblem(unknownKernelProblem(choice.message, DEFAULT_KERNEL));
      return;
    }
    this.select.value = choice.kernel;
    void this.boot(choice.kernel);
  }

  /** Stops the machine and boots the kernel chosen in the header, remembering it in the address. */
  restart(): void {
    const kernel = isKernel(this.select.value) ? this.select.value : DEFAULT_KERNEL;
    history.replaceState(history.state, "", urlWithKernel(location.href, kernel));
    void this.boot(kernel);
  }

  private async boot(kernel: KernelFlavour): Promise<void> {
    const gen = ++this.generation;
    this.kernel = kernel;
    this.markPendingKernel();
    this.clearProblem();
    this.state = initialBootState();
    this.clock = { at: 0, page: performance.now() };
    Object.assign(this.hook, { stage: "idle", stageTimes: {}, bootError: undefined, downloadedBytes: 0 } satisfies Partial<UmlabTestHook>);
    this.bootView.reset();
    this.render();
    this.setStatus(`Starting ${kernel}…`, "busy");

    const client = await this.clientFor(gen);
    if (!client) return;
    // Cleared only now, so the old machine's last words do not land in the new boot's screen.
    for (const id of CONSOLES) this.panes[id].reset();
    let result: BootResult;
    try {
      result = await client.boot(
        { manifestUrl: new URL("/images/manifest.json", location.href).toString(), kernel },
        {
          stage: (event) => {
            if (gen === this.generation) this.onStage(event);
          },
          download: (progress) => {
            if (gen === this.generation) this.onDownload(progress);
          },
        },
      );
    } catch (err) {
      if (gen === this.generation && !client.isBroken) this.failBoot({ kind: "emulator", message: errorText(err) });
      return;
    }
    if (gen !== this.generation) return;
    if (!result.ok) {
      this.failBoot(result.error);
      return;
    }
    this.describeKernels(result.manifest);
    // A guest failure reported while boot() was still running was held back until now.
    if (this.state.failed !== undefined) this.guestFailed(this.state.failed);
    this.sendSizes(true);
  }

  /** The worker to boot on: the current one once stopped, or a fresh one if it is busy, broken or stuck. */
  private async clientFor(gen: number): Promise<EmulatorClient | undefined> {
    const current = this.client;
    // A boot still in flight would carry on after stop(); only a fresh worker is sure to be clean.
    if (current && !current.isBroken && !current.isBooting) {
      const stopped = await withTimeout(current.stop(), STOP_TIMEOUT_MS).then(
        () => true,
        () => false,
      );
      if (gen !== this.generation) return undefined;
      if (stopped && this.client === current) return current;
    }
    this.client?.terminate();
    const client: EmulatorClient = new EmulatorClient({
      output: (id, bytes) => {
        if (this.client === client) this.panes[id].write(bytes);
      },
      failed: (message) => {
        if (this.client === client) this.workerFailed(message);
      },
    });
    this.client = client;
    this.sentSize.uml = this.sentSize.host = undefined;
    this.sendSizes(true);
    return client;
  }

  private onStage(event: StageEvent): void {
    this.state = applyStage(this.state, event);
    this.clock = { at: event.at, page: performance.now() };
    this.hook.stage = event.stage;
    this.hook.stageTimes = { ...this.state.stageTimes };
    if (event.stage === "ready") {
      this.setStatus(`${this.kernel} kernel ready`, "good");
      this.activate("uml");
    } else if (event.stage === "halted") {
      this.setStatus("UML halted", "warn");
    } else if (event.stage === "error") {
      // While boot() runs, its result names the failure better; wait for it.
      if (!this.client?.isBooting && this.hook.bootError === undefined) this.guestFailed(event.detail ?? "boot failed");
    } else if (isVisibleStage(event.stage)) {
      this.setStatus(`${this.kernel} · ${STAGE_LABELS[event.stage]}…`, "busy");
    }
    this.render();
  }

  private onDownload(progress: DownloadProgress): void {
    this.state = applyDownload(this.state, progress);
    this.hook.downloadedBytes = downloadTotals(this.state).loaded;
    this.render();
  }

  private failBoot(error: BootError): void {
    this.hook.bootError = error;
    this.hook.stage = "error";
    this.stopClock(error.message);
    this.setStatus("Boot failed", "bad");
    this.showProblem(bootProblem(error));
  }

  private guestFailed(detail: string): void {
    this.hook.bootError = { kind: "emulator", message: detail };
    this.hook.stage = "error";
    this.setStatus("Boot failed", "bad");
    this.showProblem(guestProblem(detail));
  }

  private workerFailed(message: string): void {
    this.hook.bootError = { kind: "emulator", message };
    this.hook.stage = "error";
    this.stopClock(message);
    this.setStatus("Emulator failed", "bad");
    this.showProblem(workerProblem(message));
  }

  /** Ends the running stage's clock on failures the worker did not report as a stage. */
  private stopClock(detail: string): void {
    this.state = applyFailure(this.state, this.now(), detail);
    this.render();
  }

  private showProblem(problem: Problem): void {
    this.errorSlot.replaceChildren(errorView(problem, () => this.restart()));
  }

  private clearProblem(): void {
    this.errorSlot.replaceChildren();
  }

  private describeKernels(manifest: ImageManifest): void {
    for (const option of this.select.options) {
      if (!isKernel(option.value)) continue;
      const info = manifest.kernels[option.value];
      option.textContent = `${option.value} (${info.release})`;
      option.title = info.description;
    }
  }

  private markPendingKernel(): void {
    const pending = this.select.value !== this.kernel;
    this.restartButton.classList.toggle("attention", pending);
    this.restartButton.title = pending ? `Restart with the ${this.select.value} kernel` : "Stop the machine and boot it again";
  }

  private activate(id: ConsoleId, focus = true): void {
    this.active = id;
    for (const c of CONSOLES) {
      const on = c === id;
      this.tabs[c].setAttribute("aria-selected", String(on));
      this.tabs[c].tabIndex = on ? 0 : -1;
      this.panes[c].element.classList.toggle("active", on);
    }
    this.sendSizes(false);
    if (focus) this.panes[id].focus();
  }

  private onTerminalKey(id: ConsoleId, ev: KeyboardEvent): boolean {
    const action = keyAction(ev);
    if (action === undefined) return true;
    // Not cancelled: the browser's own paste then fires the paste event that xterm handles.
    if (action === "browser-paste") return false;
    if (ev.type === "keydown") {
      ev.preventDefault();
      this.perform(action, id);
    }
    return false;
  }

  private perform(action: Exclude<KeyAction, "browser-paste">, id: ConsoleId): void {
    if (action === "tab-uml") return this.activate("uml");
    if (action === "tab-host") return this.activate("host");
    const clipboard = navigator.clipboard as Clipboard | undefined;
    if (!clipboard) return this.flash("The clipboard needs a secure context (https or localhost).");
    if (action === "copy") {
      const text = this.panes[id].selection();
      if (!text) return;
      clipboard.writeText(text).then(
        () => this.flash("Copied"),
        () => this.flash("The browser blocked writing to the clipboard."),
      );
    } else {
      clipboard.readText().then(
        (text) => this.panes[id].paste(text),
        () => this.flash("The browser blocked reading the clipboard; try Ctrl+V."),
      );
    }
  }

  /** Fits both terminals and tells the worker any new size (or every size, when forced). */
  private sendSizes(force: boolean): void {
    for (const id of CONSOLES) {
      const pane = this.panes[id];
      pane.fit();
      const { cols, rows } = pane.size;
      const key = `${cols}x${rows}`;
      if (!this.client || (!force && this.sentSize[id] === key)) continue;
      this.client.sendResize(id, cols, rows);
      this.sentSize[id] = key;
    }
  }

  /** Worker time now, extrapolated from the latest report. */
  private now(): number {
    return this.clock.at + (performance.now() - this.clock.page);
  }

  private tick(): void {
    if (this.state.stage !== "idle" && !isSettled(this.state)) this.render();
  }

  private render(): void {
    this.bootView.render(this.state, this.now());
    document.body.dataset.bootStage = this.state.stage;
  }

  private setStatus(text: string, tone: "busy" | "good" | "warn" | "bad"): void {
    setText(this.status, text);
    this.status.dataset.tone = tone;
  }

  private flash(text: string): void {
    setText(this.notice, text);
    clearTimeout(this.noticeTimer);
    this.noticeTimer = setTimeout(() => setText(this.notice, ""), 4000);
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
