// The Switch panel: host bridge br0 as the virtual switch, the main UML and the instances plugged into it,
// and starting, stopping and reaching instances (each one's console is a tab like "+ Console" ones).
import type { UmlState } from "../workers/api.ts";
import { el } from "./dom.ts";
import { errorText } from "./errors.ts";
import { isUp, nextInstance, switchPorts, type SwitchPort } from "./instances-model.ts";
import { MessageBox, verbatim } from "./message-box.ts";
import type { ToolkitApi } from "./toolkit-api.ts";

/** Instance memory sizes offered; the worker refuses what the host cannot hold. */
const MEMORY_SIZES = ["32M", "48M", "64M"] as const;

export interface InstancesCallbacks {
  /** Shows the console tab of multiplexer channel `channel`. */
  showConsole(channel: number): void;
}

export class InstancesView {
  readonly element: HTMLElement;
  private readonly ports = el("ul", { class: "switch-ports", attrs: { "data-testid": "switch-ports", "aria-labelledby": "switch-ports-title" } });
  private readonly startButton = el("button", { class: "button small primary", text: "Start instance", attrs: { type: "button", "data-testid": "instance-start" } });
  private readonly memory = el("select", { attrs: { id: "instance-mem", "data-testid": "instance-mem" } }, ...MEMORY_SIZES.map((m) => el("option", { text: m, attrs: { value: m } })));
  private readonly message = new MessageBox("instance-message");
  private state: UmlState | undefined;
  /** Instances with a start or stop under way: their buttons wait. */
  private readonly busy = new Set<number>();

  constructor(
    private readonly api: Pick<ToolkitApi, "startInstance" | "stopInstance">,
    private readonly callbacks: InstancesCallbacks,
  ) {
    this.memory.value = "48M";
    this.startButton.addEventListener("click", () => void this.start());
    this.element = el(
      "section",
      { class: "tool-panel", attrs: { "data-testid": "switch-panel", "aria-labelledby": "switch-title" } },
      el("h2", { class: "tool-title", text: "Virtual switch and UML instances", attrs: { id: "switch-title" } }),
      el("p", {
        class: "tool-note",
        text: "The host's bridge br0 is the switch. Each UML instance is its own UML process on the host, with its own umid, COW file, console tab and NIC (vector transport on its own tap device), and takes an address by DHCP. Inside one, `ip addr` shows it; `ping` and `wget` reach the others.",
      }),
      el("div", { class: "tool-row" }, el("label", { text: "Memory", attrs: { for: "instance-mem" } }), this.memory, this.startButton),
      this.message.element,
      el("div", { class: "tool-head" }, el("h3", { class: "tool-subtitle", text: "Ports of br0", attrs: { id: "switch-ports-title" } })),
      this.ports,
      el("p", {
        class: "tool-note",
        text: "Each instance's COW file is a region of the same state disk as the main UML's, stored in this browser block by block: what an instance writes survives Stop and Start, a reload and saved sessions. A merge folds only the main UML's COW file and starts the instances' afresh.",
      }),
    );
    this.render();
  }

  setState(state: UmlState | undefined): void {
    this.state = state;
    this.render();
  }

  /** "Start instance", or Start on a stopped one (`n`). Resolves with the instance's number. */
  async start(n?: number): Promise<number | undefined> {
    const target = n ?? nextInstance(this.state);
    if (target === undefined) {
      this.message.show("Instances 2, 3 and 4 are all running; stop one first.");
      return undefined;
    }
    this.message.show(`Starting uml${target}…`, "info");
    this.busy.add(target);
    this.render();
    try {
      const started = await this.api.startInstance({ n: target, mem: this.memory.value });
      this.message.clear();
      return started;
    } catch (err) {
      this.message.show([`uml${target} did not start:`, verbatim(errorText(err))]);
      return undefined;
    } finally {
      this.busy.delete(target);
      this.render();
    }
  }

  async stop(n: number): Promise<void> {
    this.busy.add(n);
    this.render();
    try {
      await this.api.stopInstance(n);
    } catch (err) {
      this.message.show([`uml${n} did not stop:`, verbatim(errorText(err))]);
    } finally {
      this.busy.delete(n);
      this.render();
    }
  }

  private render(): void {
    const mainUp = this.state?.state === "running";
    this.startButton.disabled = !mainUp || this.busy.size > 0 || nextInstance(this.state) === undefined;
    this.startButton.title = mainUp ? "Start the next UML instance on this switch" : "Instances start beside a running main UML";
    this.ports.replaceChildren(...switchPorts(this.state).map((port) => this.row(port)));
  }

  private row(port: SwitchPort): HTMLElement {
    const testId = port.instance ? `instance-${port.instance.n}` : `port-${port.device}`;
    const item = el(
      "li",
      { class: "switch-port", attrs: { "data-testid": testId, ...(port.instance ? { "data-state": port.instance.state } : {}) } },
      el("code", { class: "port-device", text: port.device }),
      el("strong", { text: port.name }),
      el("span", { class: "port-role", text: port.mac ? `${port.role} · ${port.mac}` : port.role }),
    );
    if (port.state) item.append(el("span", { class: "uml-badge", text: port.state, attrs: { "data-tone": port.tone ?? "warn" } }));
    const instance = port.instance;
    if (!instance) return item;
    const busy = this.busy.has(instance.n);
    const actions = el("span", { class: "port-actions" });
    if (instance.channel !== undefined) {
      const channel = instance.channel;
      const show = el("button", { class: "button small", text: "Console", attrs: { type: "button", "data-testid": `instance-console-${instance.n}`, title: `Show ${instance.name}'s console tab` } });
      show.addEventListener("click", () => this.callbacks.showConsole(channel));
      actions.append(show);
    }
    if (isUp(instance)) {
      const stop = el("button", { class: "button small", text: busy ? "Stopping…" : "Stop", attrs: { type: "button", "data-testid": `instance-stop-${instance.n}`, title: `Halt ${instance.name} (mconsole halt)` } });
      stop.disabled = busy;
      stop.addEventListener("click", () => void this.stop(instance.n));
      actions.append(stop);
    } else {
      const start = el("button", { class: "button small", text: busy ? "Starting…" : "Start", attrs: { type: "button", "data-testid": `instance-start-${instance.n}`, title: `Start ${instance.name} again on its COW file` } });
      start.disabled = busy || this.state?.state !== "running";
      start.addEventListener("click", () => void this.start(instance.n));
      actions.append(start);
    }
    item.append(actions);
    return item;
  }
}
