// The Kernel panel: which kernel UML boots (lean, debian, or one you upload), its --showconfig with a filter,
// and UML's command line with live validation, "Reset to defaults" and "Boot UML with this".
import type { KernelCheck, UmlState } from "../workers/api.ts";
import { debounce } from "./debounce.ts";
import { el, setText } from "./dom.ts";
import { errorText } from "./errors.ts";
import { readWithProgress } from "./file-sources.ts";
import { cmdlineReport, filterConfig, kernelName, kernelOptions, uploadValue, type CmdlineReport } from "./kernel-model.ts";
import { MessageBox, verbatim } from "./message-box.ts";
import { ProgressLine } from "./progress-line.ts";
import { storedKernels } from "./shared-files.ts";
import type { ToolkitApi } from "./toolkit-api.ts";

const CHECK_DEBOUNCE_MS = 150;
const FILTER_DEBOUNCE_MS = 100;

export interface KernelCallbacks {
  /** Restarts UML with these (after asking the user); rejects with the worker's message. False: the user backed out. */
  boot(kernel: string, cmdline: string): Promise<boolean>;
}

export class KernelView {
  readonly element: HTMLElement;
  private readonly running = el("p", { class: "tool-note", attrs: { "data-testid": "kernel-running" } });
  private readonly choice = el("select", { attrs: { id: "kernel-choice", "data-testid": "kernel-choice" } });
  private readonly uploadFile = el("input", { attrs: { type: "file", "data-testid": "kernel-upload-file", "aria-label": "A UML kernel (an i386 ELF built with ARCH=um) to upload" } });
  private readonly uploadButton = el("button", { class: "button small", text: "Upload your own…", attrs: { type: "button", "data-testid": "kernel-upload" } });
  private readonly uploadProgress = new ProgressLine("kernel-upload-progress", "Uploading the kernel");
  private readonly uploadResult = el("div", { class: "kernel-result", attrs: { "data-testid": "kernel-upload-result", role: "status" } });
  private readonly cmdline = el("input", { class: "cmdline-input", attrs: { id: "kernel-cmdline", "data-testid": "kernel-cmdline", type: "text", autocomplete: "off", spellcheck: "false", "aria-describedby": "kernel-cmdline-errors kernel-cmdline-note" } });
  private readonly errors = el("ul", { class: "field-errors", attrs: { id: "kernel-cmdline-errors", "data-testid": "kernel-cmdline-errors", "aria-live": "polite" } });
  private readonly warnings = el("ul", { class: "field-warnings", attrs: { "data-testid": "kernel-cmdline-warnings" } });
  private readonly bootButton = el("button", { class: "button small primary", text: "Boot UML with this", attrs: { type: "submit", "data-testid": "kernel-boot" } });
  private readonly bootMessage = new MessageBox("kernel-boot-message");
  private readonly configToggle = el("button", { class: "button small", text: "Show config", attrs: { type: "button", "data-testid": "kernel-show-config", "aria-expanded": "false", "aria-controls": "kernel-config" } });
  private readonly configFilter = el("input", { attrs: { type: "search", "data-testid": "kernel-config-filter", placeholder: "filter, e.g. hostfs or ubd", "aria-label": "Filter the config's CONFIG_ lines", autocomplete: "off", spellcheck: "false" } });
  private readonly setOnly = el("input", { attrs: { type: "checkbox", id: "kernel-config-set-only", "data-testid": "kernel-config-set-only" } });
  private readonly configCount = el("span", { class: "tool-note", attrs: { "data-testid": "kernel-config-count", role: "status" } });
  private readonly configText = el("pre", { class: "config-text", attrs: { "data-testid": "kernel-config-text", tabindex: "0", "aria-label": "Kernel config" } });
  private readonly configBox: HTMLElement;
  /** Uploaded this visit, and found in the worker's /kernels. */
  private readonly uploaded = new Set<string>();
  /** --showconfig per kernel value; an upload's check already carries it. */
  private readonly configs = new Map<string, string>();
  private shownConfig: { kernel: string; text: string } | undefined;
  private defaults: string | undefined;
  private report: CmdlineReport | undefined;
  /** The text `report` is about; Boot needs it to be the field's text. */
  private checkedText: string | undefined;
  private checkSeq = 0;
  /** The user has not typed in the field or picked a kernel: they follow what UML runs. */
  private cmdlineTouched = false;
  private choiceTouched = false;
  private uml: UmlState | undefined;
  private fallbackKernel: string;
  private readonly scheduleCheck = debounce(() => void this.check(), CHECK_DEBOUNCE_MS);

  constructor(
    private readonly api: Pick<ToolkitApi, "checkCmdline" | "kernelConfig" | "uploadKernel" | "listShared">,
    private readonly flavours: readonly string[],
    private readonly callbacks: KernelCallbacks,
  ) {
    this.fallbackKernel = flavours[0] ?? "";
    this.choice.addEventListener("change", () => {
      this.choiceTouched = true;
      if (!this.configBox.hidden) void this.loadConfig();
    });
    this.uploadFile.hidden = true;
    this.uploadButton.addEventListener("click", () => this.uploadFile.click());
    this.uploadFile.addEventListener("change", () => {
      const file = this.uploadFile.files?.[0];
      this.uploadFile.value = "";
      if (file) void this.uploadFromFile(file);
    });
    this.uploadResult.hidden = true;

    this.cmdline.addEventListener("input", () => {
      this.cmdlineTouched = true;
      this.pending();
      this.scheduleCheck();
    });
    const reset = el("button", { class: "button small", text: "Reset to defaults", attrs: { type: "button", "data-testid": "kernel-cmdline-reset" } });
    reset.addEventListener("click", () => void this.resetCmdline());
    const form = el(
      "form",
      { class: "cmdline-form", attrs: { "aria-label": "UML command line" } },
      el("label", { class: "tool-label", text: "UML command line (your part)", attrs: { for: "kernel-cmdline" } }),
      this.cmdline,
      this.errors,
      this.warnings,
      el("p", { class: "tool-note", text: "umlab adds umid, ubd0, con0, con1, hostfs=/lab and the network itself.", attrs: { id: "kernel-cmdline-note" } }),
      el("div", { class: "tool-row" }, reset, this.bootButton),
    );
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      void this.boot();
    });

    this.configToggle.addEventListener("click", () => void this.toggleConfig());
    const refilter = debounce(() => this.renderConfig(), FILTER_DEBOUNCE_MS);
    this.configFilter.addEventListener("input", refilter);
    this.setOnly.addEventListener("change", () => this.renderConfig());
    this.configBox = el(
      "div",
      { class: "config-box", attrs: { id: "kernel-config", "data-testid": "kernel-config" } },
      el("div", { class: "tool-row" }, this.configFilter, el("label", { class: "check" }, this.setOnly, " set options only"), this.configCount),
      this.configText,
    );
    this.configBox.hidden = true;

    this.element = el(
      "section",
      { class: "tool-panel", attrs: { "data-testid": "kernel-panel", "aria-labelledby": "kernel-title" } },
      el("h2", { class: "tool-title", text: "Kernel and command line", attrs: { id: "kernel-title" } }),
      this.running,
      el("div", { class: "tool-row" }, el("label", { class: "tool-label", text: "Boot kernel", attrs: { for: "kernel-choice" } }), this.choice, this.uploadButton, this.uploadFile),
      this.uploadProgress.element,
      this.uploadResult,
      form,
      this.bootMessage.element,
      el("div", { class: "tool-head" }, el("h3", { class: "tool-subtitle", text: "Config" }), this.configToggle),
      this.configBox,
    );
    this.renderChoices();
    this.pending();
  }

  /** What UML runs now; the choice and the command line follow it until the user changes them. */
  setUml(uml: UmlState | undefined, fallbackKernel: string): void {
    this.uml = uml;
    this.fallbackKernel = fallbackKernel;
    setText(this.running, uml ? `UML runs ${uml.kernel}${uml.cmdline ? ` with: ${uml.cmdline}` : " with the default command line"}.` : `The machine boots the ${fallbackKernel} kernel.`);
    this.renderChoices();
    if (!this.cmdlineTouched && uml && this.cmdline.value !== uml.cmdline) {
      this.cmdline.value = uml.cmdline;
      void this.check();
    }
  }

  /** The panel was opened: learn the stored kernels and the defaults, check the field. */
  async opened(): Promise<void> {
    try {
      for (const name of storedKernels(await this.api.listShared())) this.uploaded.add(name);
      this.renderChoices();
    } catch {
      // The list is a convenience: kernels uploaded this visit are still offered.
    }
    await this.check();
    if (!this.cmdlineTouched && this.cmdline.value === "" && !this.uml && this.defaults) {
      this.cmdline.value = this.defaults;
      await this.check();
    }
  }

  /** Checks and stores a kernel; shows the worker's verdict (or its refusal, verbatim). */
  async upload(name: string, bytes: Uint8Array): Promise<KernelCheck> {
    this.uploadProgress.show(`Checking ${name} on the host (--version, --showconfig)…`);
    let check: KernelCheck;
    try {
      check = await this.api.uploadKernel(name, bytes);
    } catch (err) {
      this.showUpload({ ok: false, message: errorText(err) });
      throw err;
    } finally {
      this.uploadProgress.hide();
    }
    this.showUpload(check);
    if (check.ok) {
      this.uploaded.add(check.name);
      this.configs.set(uploadValue(check.name), check.config);
      this.renderChoices();
      this.choice.value = uploadValue(check.name);
      this.choiceTouched = true;
      if (!this.configBox.hidden) void this.loadConfig();
    }
    return check;
  }

  private async uploadFromFile(file: File): Promise<void> {
    this.uploadButton.disabled = true;
    try {
      let bytes: Uint8Array;
      try {
        bytes = await readWithProgress(file, (loaded, total) => this.uploadProgress.show(`Reading ${file.name}`, loaded, total));
      } catch (err) {
        return this.showUpload({ ok: false, message: `Could not read ${file.name}: ${errorText(err)}` });
      }
      // upload() shows the worker's verdict or refusal itself.
      await this.upload(kernelName(file.name), bytes).catch(() => undefined);
    } finally {
      this.uploadProgress.hide();
      this.uploadButton.disabled = false;
    }
  }

  private showUpload(check: KernelCheck): void {
    this.uploadResult.hidden = false;
    this.uploadResult.dataset.ok = String(check.ok);
    if (!check.ok) {
      this.uploadResult.replaceChildren(el("p", { class: "result-title bad", text: "The kernel was refused:" }), verbatim(check.message, "kernel-upload-error"));
      return;
    }
    const parts: HTMLElement[] = [el("p", { class: "result-title good", text: `${check.name} is ready to boot as ${uploadValue(check.name)}:` }), verbatim(check.version, "kernel-upload-version")];
    if (check.warnings.length > 0) {
      parts.push(
        el("p", { class: "result-title warn", text: `${check.warnings.length} warning${check.warnings.length === 1 ? "" : "s"}:` }),
        el("ul", { class: "field-warnings", attrs: { "data-testid": "kernel-upload-warnings" } }, ...check.warnings.map((w) => el("li", { text: w }))),
      );
    }
    this.uploadResult.replaceChildren(...parts);
  }

  private renderChoices(): void {
    const options = kernelOptions(this.flavours, this.uploaded);
    const wanted = options.map((o) => o.value).join("\n");
    const current = this.choiceTouched ? this.choice.value : (this.uml?.kernel ?? this.fallbackKernel);
    if (this.choice.dataset.options !== wanted) {
      this.choice.dataset.options = wanted;
      this.choice.replaceChildren(...options.map((o) => el("option", { text: o.label, attrs: { value: o.value } })));
    }
    // A kernel UML runs that the page does not list yet (uploaded in another visit) is still selectable.
    if (current && !options.some((o) => o.value === current)) this.choice.append(el("option", { text: current, attrs: { value: current } }));
    this.choice.value = current;
  }

  private pending(): void {
    this.checkedText = undefined;
    this.syncBoot();
  }

  private async check(): Promise<void> {
    const text = this.cmdline.value;
    const seq = ++this.checkSeq;
    let report: CmdlineReport;
    try {
      const { check, defaults } = await this.api.checkCmdline(text);
      this.defaults = defaults;
      report = cmdlineReport(check);
    } catch (err) {
      report = { ok: false, errors: [`Could not check the command line: ${errorText(err)}`], warnings: [] };
    }
    // A newer keystroke's check is on its way: this answer is about old text.
    if (seq !== this.checkSeq) return;
    this.report = report;
    this.checkedText = text;
    this.errors.replaceChildren(...report.errors.map((e) => el("li", { text: e })));
    this.warnings.replaceChildren(...report.warnings.map((w) => el("li", { text: w })));
    this.cmdline.setAttribute("aria-invalid", String(!report.ok));
    this.syncBoot();
  }

  private syncBoot(): void {
    const valid = this.checkedText === this.cmdline.value && this.report?.ok === true;
    this.bootButton.disabled = !valid;
    this.bootButton.title = valid ? "Restart UML with this kernel and command line" : this.checkedText === undefined ? "Checking the command line…" : "Fix the command line first";
  }

  private async resetCmdline(): Promise<void> {
    if (this.defaults === undefined) await this.check();
    if (this.defaults === undefined) return;
    this.cmdline.value = this.defaults;
    this.cmdlineTouched = true;
    this.pending();
    await this.check();
  }

  private async boot(): Promise<void> {
    if (this.bootButton.disabled) return;
    this.bootMessage.clear();
    const kernel = this.choice.value;
    const cmdline = this.cmdline.value;
    this.bootButton.disabled = true;
    try {
      if (await this.callbacks.boot(kernel, cmdline)) this.bootMessage.show(`UML is restarting with ${kernel}.`, "info");
    } catch (err) {
      this.bootMessage.show(["UML was not restarted:", verbatim(errorText(err), "kernel-boot-error")]);
    } finally {
      this.syncBoot();
    }
  }

  private async toggleConfig(): Promise<void> {
    const open = this.configBox.hidden;
    this.configBox.hidden = !open;
    this.configToggle.setAttribute("aria-expanded", String(open));
    setText(this.configToggle, open ? "Hide config" : "Show config");
    if (open) await this.loadConfig();
  }

  private async loadConfig(): Promise<void> {
    const kernel = this.choice.value;
    let text = this.configs.get(kernel);
    if (text === undefined) {
      setText(this.configCount, `Asking the host for ${kernel}'s config…`);
      try {
        text = await this.api.kernelConfig(kernel);
        this.configs.set(kernel, text);
      } catch (err) {
        if (this.choice.value !== kernel) return;
        this.shownConfig = undefined;
        setText(this.configText, "");
        setText(this.configCount, `Could not read ${kernel}'s config: ${errorText(err)}`);
        return;
      }
    }
    if (this.choice.value !== kernel) return;
    this.shownConfig = { kernel, text };
    this.renderConfig();
  }

  private renderConfig(): void {
    if (!this.shownConfig) return;
    const view = filterConfig(this.shownConfig.text, this.configFilter.value, this.setOnly.checked);
    setText(this.configText, view.lines.join("\n"));
    setText(this.configCount, `${this.shownConfig.kernel}: ${view.lines.length} of ${view.total} options`);
  }
}
