import { describe, expect, it } from "vitest";
import { shouldAutosave, type AutosaveFacts } from "./autosave.ts";

const base: AutosaveFacts = { stage: "ready", persistence: "persistent", dirty: true, saving: false };

describe("shouldAutosave", () => {
  it("saves a ready, persistent machine the user typed into", () => {
    expect(shouldAutosave(base)).toBe(true);
  });
  it("skips untouched machines, running saves, read-only tabs and machines that are not ready", () => {
    expect(shouldAutosave({ ...base, dirty: false })).toBe(false);
    expect(shouldAutosave({ ...base, saving: true })).toBe(false);
    expect(shouldAutosave({ ...base, persistence: "ephemeral" })).toBe(false);
    expect(shouldAutosave({ ...base, persistence: undefined })).toBe(false);
    for (const stage of ["idle", "download", "uml-kernel", "halted", "error"] as const) expect(shouldAutosave({ ...base, stage })).toBe(false);
  });
});
