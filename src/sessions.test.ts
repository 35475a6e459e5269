import { describe, expect, it } from "vitest";
import type { SessionInfo } from "../workers/api.ts";
import { currentSession, describeStart, sessionRow, sortSessions } from "./sessions.ts";

const NOW = new Date(2024, 4, 6, 15, 0, 0).getTime();

function session(id: string, savedAt: number, over: Partial<SessionInfo> = {}): SessionInfo {
  return { id, lab: "default", savedAt, kind: "manual", kernel: "lean", bytes: 3 * 1024 * 1024, current: false, ...over };
}

describe("describeStart", () => {
  it("names snapshot restores and resumes in the page's words", () => {
    expect(describeStart("snapshot", "whatever", undefined, NOW)).toBe("Restored the pre-booted snapshot");
    expect(describeStart("resume", "", new Date(2024, 4, 6, 14, 2, 3).getTime(), NOW)).toBe("Resumed session saved 14:02:03");
  });
  it("falls back to the worker's reason when the session is unknown, and uses it for cold boots", () => {
    expect(describeStart("resume", "Resumed the autosave", undefined, NOW)).toBe("Resumed the autosave");
    expect(describeStart("resume", "", undefined, NOW)).toBe("Resumed a saved session");
    expect(describeStart("cold", "Cold boot: your disk has changes newer than your last saved session", undefined, NOW)).toContain("newer than");
    expect(describeStart("cold", "", undefined, NOW)).toBe("Cold boot");
  });
});

describe("sessions", () => {
  it("sorts newest first and finds the current one", () => {
    const list = [session("a", NOW - 5000, { current: true }), session("b", NOW - 1000), session("c", NOW - 3000, { current: true })];
    expect(sortSessions(list).map((s) => s.id)).toEqual(["b", "c", "a"]);
    expect(currentSession(list)?.id).toBe("c");
    expect(currentSession([session("x", NOW)])).toBeUndefined();
  });

  it("describes a row", () => {
    expect(sessionRow(session("a", NOW - 90_000, { kind: "auto" }), NOW)).toEqual({
      when: "14:58:30",
      ago: "1 min ago",
      kind: "auto",
      size: "3.00 MiB",
      resumeLabel: "Resume the auto session saved 14:58:30",
    });
  });
});
