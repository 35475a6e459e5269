// What the page says about UML itself (booting, running, paused, halted, crashed), apart from the machine.
import type { BootStage, UmlState } from "../workers/api.ts";

export type UmlPhase = UmlState["state"];

/** The strip on UML's consoles while mconsole `stop` holds it. */
export const PAUSED_NOTICE = "Paused — mconsole go resumes";

/**
 * UML's phase: the worker's own report when there is one; before it, what the boot stage implies
 * (undefined when no machine runs or the boot failed before UML).
 */
export function umlPhase(uml: UmlState | undefined, stage: BootStage): UmlPhase | undefined {
  if (uml) return uml.state;
  if (stage === "idle" || stage === "error") return undefined;
  if (stage === "ready") return "running";
  if (stage === "halted") return "halted";
  return "booting";
}

export interface Badge {
  text: string;
  tone: "muted" | "busy" | "good" | "warn" | "bad";
  title: string;
}

export function umlBadge(phase: UmlPhase | undefined, uml: UmlState | undefined): Badge {
  const kernel = uml ? ` (kernel ${uml.kernel}${uml.umid ? `, umid ${uml.umid}` : ""})` : "";
  switch (phase) {
    case undefined:
      return { text: "UML: off", tone: "muted", title: "No UML is running" };
    case "booting":
      return { text: "UML: booting", tone: "busy", title: `UML is starting${kernel}` };
    case "running":
      return { text: "UML: running", tone: "good", title: `UML is running${kernel}` };
    case "paused":
      return { text: "UML: paused", tone: "warn", title: `mconsole stop paused UML; mconsole go resumes it${kernel}` };
    case "halted":
      return { text: "UML: halted", tone: "warn", title: `UML has halted${kernel}` };
    case "crashed":
      return { text: "UML: crashed", tone: "bad", title: `UML crashed${kernel}` };
  }
}

export interface EndedReport {
  title: string;
  /** "exit status N", or what the boot said when the worker gave no UML state. */
  detail: string;
  /** UML's panic text, verbatim. */
  panic: string | undefined;
}

/** The banner for a UML that stopped for good, or undefined while it runs. `fallback` is the boot's halt notice. */
export function endedReport(phase: UmlPhase | undefined, uml: UmlState | undefined, fallback?: string): EndedReport | undefined {
  if (phase !== "halted" && phase !== "crashed") return undefined;
  const title = phase === "crashed" ? "UML crashed" : "UML halted";
  const status = uml?.exitStatus === undefined ? undefined : `exit status ${uml.exitStatus}`;
  const panic = uml?.panic === undefined || uml.panic === "" ? undefined : uml.panic;
  return { title, detail: status ?? (uml ? "" : (fallback ?? "")), panic };
}
