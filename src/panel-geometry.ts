// Where a floating console panel may sit: always reachable by its title bar, never larger than the window.

export interface Box {
  left: number;
  top: number;
  width: number;
  height: number;
}

export interface Viewport {
  width: number;
  height: number;
}

/** Smallest panel that still shows a usable terminal (a few columns and rows). */
export const MIN_PANEL = { width: 240, height: 140 } as const;
/** Pixels of the title bar that must stay inside the window so the panel can be dragged back. */
export const GRAB_MARGIN = 48;

export function clampBox(box: Box, viewport: Viewport): Box {
  const width = Math.max(Math.min(box.width, viewport.width), Math.min(MIN_PANEL.width, viewport.width));
  const height = Math.max(Math.min(box.height, viewport.height), Math.min(MIN_PANEL.height, viewport.height));
  const left = Math.min(Math.max(box.left, GRAB_MARGIN - width), viewport.width - GRAB_MARGIN);
  // The title bar is at the top: it must never go above the window or below its bottom edge.
  const top = Math.min(Math.max(box.top, 0), Math.max(0, viewport.height - GRAB_MARGIN));
  return { left: Math.round(left), top: Math.round(top), width: Math.round(width), height: Math.round(height) };
}

/** A new panel's place: about half the window, cascaded so several panels do not hide each other. */
export function initialBox(index: number, viewport: Viewport): Box {
  const width = Math.min(720, Math.max(MIN_PANEL.width, Math.round(viewport.width * 0.55)));
  const height = Math.min(460, Math.max(MIN_PANEL.height, Math.round(viewport.height * 0.5)));
  const step = 28 * (index % 8);
  return clampBox({ left: Math.round((viewport.width - width) / 2) + step, top: Math.round(viewport.height * 0.15) + step, width, height }, viewport);
}
