// Entry point: styles, the app, the e2e test hook, and a boot as soon as the page loads.
import "@xterm/xterm/css/xterm.css";
import "./styles.css";
import { App } from "./app.ts";
import { startEmulatorWorker } from "./emulator-client.ts";

try {
  startEmulatorWorker();
} catch {
  // The first client makes its own worker, and reports what stops it.
}

try {
  const app = new App();
  window.umlab = app.hook;
  app.start();
} catch (err) {
  // Never leave a blank page: say what broke even if the app could not be built.
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
