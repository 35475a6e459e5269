// The app itself: loaded by main.ts as a second chunk, after the emulator worker has been started.
import { App } from "./app.ts";

export function startApp(): void {
  const app = new App();
  window.umlab = app.hook;
  app.start();
}
