// The UML panel: uml_mconsole's command line with history, quick commands, a transcript of every command and
// its reply verbatim, and hot-plugging disk images as ubd1..ubd7 ("Add disk…", Remove).
import type { MconsoleResult, UmlInstance } from "../workers/api.ts";
import { el, setText } from "./dom.ts";
import { errorText } from "./errors.ts";
import { readWithProgress } from "./file-sources.ts";
import { formatBytes } from "./format.ts";
import { CommandHistory, configCommand, freeSlot, procCommand, removeCommand, stackCommand, SYSRQ_LETTERS, sysrqCommand, toggleCommand, type Built, type HotDisk } from "./mconsole-model.ts";
import { MessageBox, verbatim } from "./message-box.ts";
import { ProgressLine } from "./progress-line.ts";
import { DISKS_ROOT, HOST_ROOT, safeFileName } from "./shared-files.ts";
import type { ToolkitApi } from "./toolkit-api.ts";
import type { UmlPhase } from "./uml-status.ts";

/** Transcript entries kept; older ones scroll away. */
const TRANSCRIPT_LIMIT = 200;

interface DiskRow extends HotDisk {
  state: "adding" | "added" | "removing";
  /** The last Remove's error reply, verbatim. */
  error?: string;
}

export class MconsoleView {
  readonly element: HTMLElement;
  private readonly history = new CommandHistory();
  private readonly input = el("input", { class: "mc-input", attrs: { id: "mconsole-input", "data-testid": "mconsole-input", type: "text", autocomplete: "off", spellcheck: "false", placeholder: "version, help, config ubd1=…", "aria-label": "mconsole command", "aria-describedby": "mconsole-hint" } });
  /** Which UML the commands go to: the main one ("") or an instance's number. */
  private readonly target = el("select", { class: "mc-target", attrs: { id: "mconsole-target", "data-testid": "mconsole-target" } }, el("option", { text: "umlab (main)", attrs: { value: "" } }));
  /** Shown only while instances run beside the main UML. */
  private readonly targetRow = el("div", { class: "tool-row" }, el("label", { text: "Talk to", attrs: { for: "mconsole-target" } }), this.target);
  private instances: UmlInstance[] = [];
  private readonly runButton = el("button", { class: "button small primary", text: "Run", attrs: { type: "submit", "data-testid": "mconsole-run" } });
  private readonly toggle = el("button", { class: "button small", text: "stop", attrs: { type: "button", "data-testid": "mconsole-toggle", "aria-pressed": "false" } });
  private readonly quick: HTMLButtonElement[] = [];
  private readonly argError = el("p", { class: "field-error", attrs: { "data-testid": "mconsole-arg-error", role: "alert" } });
  private readonly transcript = el("ol", { class: "mc-transcript", attrs: { "data-testid": "mconsole-transcript", role: "log", "aria-label": "mconsole transcript" } });
  private readonly diskFile = el("input", { attrs: { type: "file", "data-testid": "mconsole-disk-file", "aria-label": "Disk image to hot-plug" } });
  private readonly addDiskButton = el("button", { class: "button small", text: "Add disk…", attrs: { type: "button", "data-testid": "mconsole-add-disk" } });
  private readonly diskList = el("ul", { class: "hot-disks", attrs: { "data-testid": "hot-disks", "aria-label": "Hot-plugged disks" } });
  private readonly diskProgress = new ProgressLine("mconsole-disk-progress", "Copying the disk image");
  private readonly diskMessage = new MessageBox("mconsole-disk-message");
  private disks: DiskRow[] = [];
  private phase: UmlPhase | undefined;
  private copying = false;

  constructor(private readonly api: Pick<ToolkitApi, "mconsole" | "putShared">) {
    const form = el(
      "form",
      { class: "mc-line", attrs: { "aria-label": "mconsole command" } },
      el("label", { class: "mc-prompt", text: "(mconsole)", attrs: { for: "mconsole-input" } }),
      this.input,
      this.runButton,
    );
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      void this.submit();
    });
    this.input.addEventListener("keydown", (ev) => this.historyKey(ev));

    const quick = el("div", { class: "tool-row", attrs: { role: "group", "aria-label": "Quick commands" } });
    for (const [command, title] of [
      ["version", "UML's kernel version"],
      ["help", "The commands mconsole knows"],
      ["cad", "Ctrl-Alt-Del: init decides (usually a reboot)"],
      ["reboot", "Reboot UML at once"],
      ["halt", "Halt UML at once"],
    ] as const) {
      const button = el("button", { class: "button small", text: command, attrs: { type: "button", "data-testid": `mconsole-${command}`, title } });
      button.addEventListener("click", () => void this.quickRun({ ok: true, command }));
      this.quick.push(button);
      quick.append(button);
    }
    this.toggle.addEventListener("click", () => void this.quickRun({ ok: true, command: toggleCommand(this.targetPhase()) }));
    this.target.addEventListener("change", () => this.renderToggle());
    this.quick.push(this.toggle);
    quick.append(this.toggle);

    const letters = el("select", { attrs: { id: "mconsole-sysrq-letter", "data-testid": "mconsole-sysrq-letter" } }, ...SYSRQ_LETTERS.map((l) => el("option", { text: `${l.letter} — ${l.meaning}`, attrs: { value: l.letter } })));
    const procFile = el("input", { class: "mc-arg", attrs: { id: "mconsole-proc-file", "data-testid": "mconsole-proc-file", type: "text", value: "meminfo", autocomplete: "off", spellcheck: "false" } });
    const pid = el("input", { class: "mc-arg narrow", attrs: { id: "mconsole-stack-pid", "data-testid": "mconsole-stack-pid", type: "text", inputmode: "numeric", value: "1", autocomplete: "off" } });
    const args = el(
      "div",
      { class: "mc-args" },
      this.argForm("sysrq", "mconsole-sysrq-letter", letters, "Send", () => sysrqCommand(letters.value)),
      this.argForm("proc", "mconsole-proc-file", procFile, "Read", () => procCommand(procFile.value)),
      this.argForm("stack", "mconsole-stack-pid", pid, "Show", () => stackCommand(pid.value)),
    );
    this.argError.hidden = true;

    const clear = el("button", { class: "button small", text: "Clear", attrs: { type: "button", "data-testid": "mconsole-clear", "aria-label": "Clear the transcript" } });
    clear.addEventListener("click", () => this.transcript.replaceChildren());

    this.diskFile.hidden = true;
    this.addDiskButton.addEventListener("click", () => this.diskFile.click());
    this.diskFile.addEventListener("change", () => {
      const file = this.diskFile.files?.[0];
      // Cleared so choosing the same file again still fires change.
      this.diskFile.value = "";
      if (file) void this.addDisk(file);
    });

    this.element = el(
      "section",
      { class: "tool-panel", attrs: { "data-testid": "mconsole-panel", "aria-labelledby": "mconsole-title" } },
      el("h2", { class: "tool-title", text: "UML management console", attrs: { id: "mconsole-title" } }),
      el("p", { class: "tool-note", text: "Runs the real uml_mconsole on the host against UML's umid. Up/Down: history.", attrs: { id: "mconsole-hint" } }),
      this.targetRow,
      form,
      quick,
      args,
      this.argError,
      el("div", { class: "tool-head" }, el("h3", { class: "tool-subtitle", text: "Transcript" }), clear),
      this.transcript,
      el("div", { class: "tool-head" }, el("h3", { class: "tool-subtitle", text: "Hot-plugged disks", attrs: { id: "hot-disks-title" } }), this.addDiskButton, this.diskFile),
      el("p", { class: "tool-note", text: `A disk image is copied to the host's ${HOST_ROOT}${DISKS_ROOT}/ and plugged in with config ubdN=…; inside UML it is /dev/ubdb, /dev/ubdc, …` }),
      this.diskProgress.element,
      this.diskMessage.element,
      this.diskList,
    );
    this.setPhase(undefined);
    this.setInstances([]);
    this.renderDisks();
  }

  /** UML's phase: the stop/go toggle and whether commands can run follow it. */
  setPhase(phase: UmlPhase | undefined): void {
    const was = this.phase;
    this.phase = phase;
    const live = phase === "running" || phase === "paused";
    for (const button of this.quick) button.disabled = !live;
    this.runButton.disabled = !live;
    this.runButton.title = live ? "Run (Enter)" : "mconsole needs a running UML";
    this.renderToggle();
    this.addDiskButton.disabled = !live || this.copying;
    // Disks plugged into a UML that has gone (or is starting again) are gone with it.
    if (was !== phase && (phase === undefined || phase === "booting" || phase === "halted" || phase === "crashed")) this.resetDisks();
  }

  /** The instances beside the main UML: the running ones can be the commands' target. */
  setInstances(instances: readonly UmlInstance[]): void {
    this.instances = instances.filter((i) => i.state === "running" || i.state === "paused" || i.state === "booting");
    const chosen = this.target.value;
    this.target.replaceChildren(
      el("option", { text: "umlab (main)", attrs: { value: "" } }),
      ...this.instances.map((i) => el("option", { text: `${i.name} (${i.umid})`, attrs: { value: String(i.n) } })),
    );
    this.target.value = this.instances.some((i) => String(i.n) === chosen) ? chosen : "";
    this.targetRow.hidden = this.instances.length === 0;
    this.renderToggle();
  }

  /** The chosen UML's phase, for the stop/go toggle. */
  private targetPhase(): UmlPhase | undefined {
    if (this.target.value === "") return this.phase;
    const state = this.instances.find((i) => String(i.n) === this.target.value)?.state;
    return state === "paused" ? "paused" : "running";
  }

  private renderToggle(): void {
    const phase = this.targetPhase();
    const paused = phase === "paused";
    setText(this.toggle, toggleCommand(phase));
    this.toggle.setAttribute("aria-pressed", String(paused));
    this.toggle.title = paused ? "UML is paused: go resumes it" : "Pause UML (its consoles stop answering) until go";
  }

  resetDisks(): void {
    this.disks = [];
    this.renderDisks();
  }

  hotDisks(): HotDisk[] {
    return this.disks.filter((d) => d.state !== "adding").map(({ slot, name, hostPath }) => ({ slot, name, hostPath }));
  }

  /**
   * Runs one command against the chosen UML (or `instance`, 0 meaning the main one) and adds it to the
   * transcript; rejects only when the worker could not be asked.
   */
  async run(command: string, instance?: number): Promise<MconsoleResult> {
    const n = instance ?? (this.target.value === "" ? 0 : Number(this.target.value));
    const entry = this.entry(command, n === 0 ? undefined : `uml${n}`);
    try {
      const result = await this.api.mconsole(command, n === 0 ? undefined : n);
      this.settle(entry, result.ok, result.text, `${result.ok ? "OK" : "ERR"} · ${result.ms} ms`);
      return result;
    } catch (err) {
      this.settle(entry, false, errorText(err), "not run");
      throw err;
    }
  }

  private argForm(command: string, inputId: string, field: HTMLElement, label: string, build: () => Built): HTMLFormElement {
    const button = el("button", { class: "button small", text: label, attrs: { type: "submit", "data-testid": `mconsole-${command}` } });
    this.quick.push(button);
    const form = el("form", { class: "mc-arg-form", attrs: { "aria-label": `mconsole ${command}` } }, el("label", { class: "mc-arg-label", text: command, attrs: { for: inputId } }), field, button);
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      void this.quickRun(build());
    });
    return form;
  }

  private async quickRun(built: Built): Promise<void> {
    setText(this.argError, built.ok ? "" : built.message);
    this.argError.hidden = built.ok;
    if (!built.ok) return;
    await this.run(built.command).catch(() => undefined);
  }

  private async submit(): Promise<void> {
    const command = this.input.value.trim();
    if (command === "" || this.runButton.disabled) return;
    this.history.push(command);
    this.input.value = "";
    const ok = await this.run(command).then(
      (result) => result.ok,
      () => false,
    );
    // Nothing typed is lost: a command that failed comes back to be fixed, unless something new was typed.
    if (!ok && this.input.value === "") this.input.value = command;
  }

  private historyKey(ev: KeyboardEvent): void {
    if (ev.key !== "ArrowUp" && ev.key !== "ArrowDown") return;
    const text = ev.key === "ArrowUp" ? this.history.up(this.input.value) : this.history.down();
    if (text === undefined) return;
    ev.preventDefault();
    this.input.value = text;
    this.input.setSelectionRange(text.length, text.length);
  }

  private entry(command: string, target: string | undefined): HTMLLIElement {
    const item = el(
      "li",
      { class: "mc-entry", attrs: { "data-testid": "mconsole-entry", "data-state": "pending", "data-command": command, ...(target ? { "data-target": target } : {}) } },
      el("div", { class: "mc-entry-head" }, ...(target ? [el("span", { class: "mc-entry-target", text: `${target}:` })] : []), el("code", { class: "mc-command", text: command }), el("span", { class: "mc-status", text: "…" })),
    );
    this.transcript.append(item);
    while (this.transcript.children.length > TRANSCRIPT_LIMIT) this.transcript.firstElementChild?.remove();
    this.scrollTranscript();
    return item;
  }

  private settle(item: HTMLLIElement, ok: boolean, text: string, status: string): void {
    item.dataset.state = ok ? "ok" : "error";
    const statusNode = item.querySelector(".mc-status");
    if (statusNode) setText(statusNode, status);
    if (text !== "") item.append(verbatim(text, "mconsole-reply"));
    this.scrollTranscript();
  }

  /** Only the transcript scrolls to its newest entry; the page and the panel stay where they are. */
  private scrollTranscript(): void {
    this.transcript.scrollTop = this.transcript.scrollHeight;
  }

  private async addDisk(file: File): Promise<void> {
    this.diskMessage.clear();
    const slot = freeSlot(this.disks);
    if (slot === undefined) return this.diskMessage.show("Every slot from ubd1 to ubd7 is in use: remove a disk first.");
    const name = safeFileName(file.name);
    const path = `${DISKS_ROOT}/${name}`;
    const row: DiskRow = { slot, name, hostPath: `${HOST_ROOT}${path}`, state: "adding" };
    // The slot is taken at once, so a second Add disk meanwhile picks another one.
    this.disks.push(row);
    this.renderDisks();
    this.setCopying(true);
    try {
      const bytes = await readWithProgress(file, (loaded, total) => this.diskProgress.show(`Reading ${file.name}`, loaded, total));
      this.diskProgress.show(`Copying ${name} (${formatBytes(file.size)}) to the host's ${row.hostPath}…`);
      await this.api.putShared(path, bytes);
    } catch (err) {
      this.dropDisk(row);
      return this.diskMessage.show(`Could not copy ${file.name} to the host: ${errorText(err)}`);
    } finally {
      this.diskProgress.hide();
      this.setCopying(false);
    }
    let result: MconsoleResult;
    try {
      result = await this.run(configCommand(slot, row.hostPath), 0);
    } catch (err) {
      this.dropDisk(row);
      return this.diskMessage.show(`ubd${slot} was not added: ${errorText(err)}`);
    }
    if (!result.ok) {
      this.dropDisk(row);
      return this.diskMessage.show([`ubd${slot} was not added. mconsole answered:`, verbatim(result.text)]);
    }
    row.state = "added";
    this.renderDisks();
    this.diskMessage.show(`${name} is ubd${slot} now (${formatBytes(file.size)}).`, "info");
  }

  private async removeDisk(row: DiskRow): Promise<void> {
    row.state = "removing";
    delete row.error;
    this.renderDisks();
    let result: MconsoleResult;
    try {
      result = await this.run(removeCommand(row.slot), 0);
    } catch (err) {
      result = { command: removeCommand(row.slot), ok: false, text: errorText(err), ms: 0 };
    }
    if (result.ok) return this.dropDisk(row);
    // Still plugged in (e.g. mounted: "device is busy"): the disk stays listed with UML's reply.
    row.state = "added";
    row.error = result.text;
    this.renderDisks();
  }

  private dropDisk(row: DiskRow): void {
    this.disks = this.disks.filter((d) => d !== row);
    this.renderDisks();
  }

  private setCopying(copying: boolean): void {
    this.copying = copying;
    this.setPhase(this.phase);
  }

  private renderDisks(): void {
    const rows = [...this.disks].sort((a, b) => a.slot - b.slot);
    this.diskList.replaceChildren(
      ...rows.map((row) => {
        const remove = el("button", { class: "button small", text: row.state === "removing" ? "Removing…" : "Remove", attrs: { type: "button", "data-testid": `hot-disk-remove-${row.slot}`, "aria-label": `Remove ubd${row.slot} (${row.name})` } });
        remove.disabled = row.state !== "added";
        remove.addEventListener("click", () => void this.removeDisk(row));
        const item = el(
          "li",
          { class: "hot-disk", attrs: { "data-testid": `hot-disk-${row.slot}`, "data-state": row.state } },
          el("code", { class: "hot-disk-slot", text: `ubd${row.slot}` }),
          el("span", { class: "hot-disk-path", text: row.state === "adding" ? `${row.hostPath} (adding…)` : row.hostPath, attrs: { title: row.hostPath } }),
          remove,
        );
        if (row.error !== undefined) item.append(el("div", { class: "hot-disk-error" }, verbatim(row.error, `hot-disk-error-${row.slot}`)));
        return item;
      }),
    );
    if (rows.length === 0) this.diskList.append(el("li", { class: "tool-empty", text: "None yet." }));
  }
}
