// The error panel: what went wrong, the worker's message verbatim, and what to do about it.
import { el } from "./dom.ts";
import { adviceParts, type Problem } from "./problems.ts";

export function errorView(problem: Problem, onAction: () => void): HTMLElement {
  const advice = el("p", { class: "error-advice" });
  for (const part of adviceParts(problem.advice)) advice.append(part.code ? el("code", { text: part.text }) : part.text);
  const button = el("button", { class: "button primary", text: problem.action, attrs: { type: "button", "data-testid": "retry" } });
  button.addEventListener("click", onAction);
  const facts = el("dl", { class: "error-facts" }, el("dt", { text: "Message" }), el("dd", {}, el("pre", { class: "error-message", text: problem.message })));
  if (problem.file !== undefined) facts.append(el("dt", { text: "File" }), el("dd", {}, el("code", { class: "error-file", text: problem.file })));
  return el(
    "section",
    { class: "error-view", attrs: { "data-testid": "error-view", role: "alert", "aria-labelledby": "error-title" } },
    el("h2", { class: "error-title", text: problem.title, attrs: { id: "error-title" } }),
    facts,
    advice,
    el("div", { class: "error-actions" }, button),
  );
}
