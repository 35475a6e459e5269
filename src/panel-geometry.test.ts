import { describe, expect, it } from "vitest";
import { clampBox, GRAB_MARGIN, initialBox, MIN_PANEL } from "./panel-geometry.ts";

const viewport = { width: 1200, height: 800 };

describe("floating panel geometry", () => {
  it("leaves a box that fits alone", () => {
    expect(clampBox({ left: 100, top: 50, width: 400, height: 300 }, viewport)).toEqual({ left: 100, top: 50, width: 400, height: 300 });
  });

  it("keeps the title bar reachable when dragged off an edge", () => {
    expect(clampBox({ left: -1000, top: -50, width: 400, height: 300 }, viewport)).toEqual({ left: GRAB_MARGIN - 400, top: 0, width: 400, height: 300 });
    const far = clampBox({ left: 5000, top: 5000, width: 400, height: 300 }, viewport);
    expect(far.left).toBe(viewport.width - GRAB_MARGIN);
    expect(far.top).toBe(viewport.height - GRAB_MARGIN);
  });

  it("never grows past the window nor shrinks below a usable terminal", () => {
    expect(clampBox({ left: 0, top: 0, width: 5000, height: 5000 }, viewport)).toMatchObject({ width: 1200, height: 800 });
    expect(clampBox({ left: 0, top: 0, width: 10, height: 10 }, viewport)).toMatchObject(MIN_PANEL);
    expect(clampBox({ left: 0, top: 0, width: 10, height: 10 }, { width: 200, height: 100 })).toMatchObject({ width: 200, height: 100 });
  });

  it("cascades new panels inside the window", () => {
    const a = initialBox(0, viewport);
    const b = initialBox(1, viewport);
    expect(b.left - a.left).toBe(28);
    expect(b.top - a.top).toBe(28);
    for (const box of [a, b, initialBox(7, { width: 360, height: 300 })]) {
      expect(box.width).toBeGreaterThanOrEqual(Math.min(MIN_PANEL.width, 360));
      expect(box.top).toBeGreaterThanOrEqual(0);
    }
  });
});
