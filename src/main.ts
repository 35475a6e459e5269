// Entry point: styles, the emulator worker, then the app. The app (xterm.js and the UI, most of the
// page's script) is a second chunk, so the worker's script loads while the app's does.
import "@xterm/xterm/css/xterm.css";
import "./styles.css";
import { startEmulatorWorker } from "./emulator-client.ts";
import { prefetchHintFor } from "./options.ts";

try {
  startEmulatorWorker(prefetchHintFor(location.href));
} catch {
  // The first client makes its own worker, and reports what stops it.
}

/** Never leave a blank page: say what broke even if the app could not be loaded or built. */
function showStartFailure(err: unknown): never {
  const panel = document.createElement("section");
  panel.className = "error-view";
  panel.dataset.testid = "error-view";
  panel.setAttribute("role", "alert");
  const title = document.createElement("h2");
  title.className = "error-title";
  title.textContent = "The page failed to start";
  const message = document.createElement("pre");
  message.className = "error-message";
  message.textContent = err instanceof Error ? (err.stack ?? err.message) : String(err);
  panel.append(title, message);
  document.body.prepend(panel);
  throw err;
}

import("./app-start.ts").then(({ startApp }) => startApp()).catch(showStartFailure);
