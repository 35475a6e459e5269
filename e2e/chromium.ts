// How the tests start Debian's Chromium; shared by the config and the specs that launch their own browser.
export const chromiumExecutable = process.env.UMLAB_CHROMIUM ?? "/usr/bin/chromium";
export const chromiumArgs = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
export const e2ePort = Number(process.env.UMLAB_E2E_PORT ?? 5174);
export const baseURL = `http://127.0.0.1:${e2ePort}`;
