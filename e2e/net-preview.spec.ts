// The guest's network as the page shows it: UML's DHCP lease in the network panel, and a server started
// in UML reached from the browser at /guest/<port>/ (a new tab or the inline preview) through the
// preview Service Worker, the lab tab and the worker's TCP stack.
import { expect, test } from "./fixtures.ts";

test.describe.configure({ mode: "serial" });
// No relay: the panel must then say what still works, and nothing here needs one.
test.use({ bootPath: "/?relay=none" });

/** A port nothing in UML listens on (the rootfs starts no servers). */
const CLOSED_PORT = 8081;

test("without a lab tab, /guest/ addresses say to open the lab, from the server and from the Service Worker", async ({ browser }) => {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    // Before any lab page ran in this browser, the dev server answers itself.
    const fromServer = await page.goto("/guest/80/");
    expect(fromServer?.status()).toBe(503);
    expect(fromServer?.fromServiceWorker()).toBe(false);
    await expect(page.locator("body")).toContainText("Open the lab: the preview is served by the UML running in it");
    // Installed from a page of the site that is not the lab, so no lab tab exists to answer.
    await page.goto("/favicon.svg");
    await page.evaluate(() => navigator.serviceWorker.register("/guest-sw.js", { scope: "/guest/" }).then(() => undefined));
    await expect
      .poll(() => page.evaluate(async () => (await navigator.serviceWorker.getRegistration("/guest/"))?.active?.state), { message: "the preview Service Worker should activate" })
      .toBe("activated");
    const fromWorker = await page.goto("/guest/80/");
    expect(fromWorker?.fromServiceWorker()).toBe(true);
    expect(fromWorker?.status()).toBe(503);
    await expect(page.locator("body")).toContainText("Open the lab: the preview is served by the UML running in it");
    await expect(page.locator("body")).toContainText("open in another tab");
  } finally {
    await context.close();
  }
});

test("the lab page served for a /guest/ address (a static host's fallback) does not boot a lab there", async ({ page }) => {
  // What a static host with a single-page fallback would do when no Service Worker answered.
  await page.route("**/guest/80/", async (route) => route.fulfill({ response: await page.request.get("/") }));
  await page.goto("/guest/80/");
  await expect(page.getByTestId("error-view")).toContainText("Preview without the lab");
  expect(await page.evaluate(() => window.umlab?.stage)).toBe("idle");
  await page.getByTestId("retry").click();
  await expect(page).toHaveURL(/\/$/);
});

test("a malformed ?relay= is refused with a clear message, not silently dropped", async ({ page }) => {
  await page.goto("/?relay=wisp.example");
  const problem = page.getByTestId("error-view");
  await expect(problem).toContainText("Bad relay address");
  await expect(problem).toContainText('Bad relay "wisp.example"');
  await expect(problem).toContainText("?relay=none");
  expect(await page.evaluate(() => window.umlab?.stage)).toBe("idle");
});

test("UML takes a DHCP lease: the network panel shows its 10.0.2.x address, as ifconfig eth0 in UML does", async ({ booted }) => {
  const { page } = booted;
  const panel = page.getByTestId("network-panel");
  await expect(panel).toBeVisible();
  await expect(page.getByTestId("network-transport")).toHaveText("No relay: only fetch (plain HTTP, CORS-permitting sites) and your machine's localhost via 10.0.2.2 work");
  const umlAddress = page.getByTestId("uml-address");
  await expect(umlAddress).toHaveText(/^10\.0\.2\.\d+$/, { timeout: 60_000 });
  const shown = (await umlAddress.textContent()) ?? "";
  await expect(page.getByTestId("host-address")).toHaveText(/^10\.0\.2\.\d+$/);
  expect(await page.getByTestId("host-address").textContent()).not.toBe(shown);
  const status = await page.evaluate(() => window.umlab?.network());
  expect(status?.transport).toBe("fetch");
  expect(status?.relay).toBeUndefined();
  expect(status?.umlAddress).toBe(shown);
  const out = await booted.run("uml", "ifconfig eth0", /inet addr:\s*(10\.0\.2\.\d+)/);
  expect(/inet addr:\s*(10\.0\.2\.\d+)/.exec(out)?.[1]).toBe(shown);
});

test("busybox httpd in UML is listed as port 80, and /guest/80/ shows its page in a new tab and inline", async ({ booted }) => {
  const { page } = booted;
  await expect(page.getByTestId("ports-note")).toContainText("none yet");
  // The markers are computed by the shell, so the echoed command line cannot match them.
  await booted.run("uml", "mkdir -p /tmp/www && echo hello-from-uml-$((6*7)) > /tmp/www/index.html && httpd -p 80 -h /tmp/www && echo httpd-up-$((6*7))", /httpd-up-42/);
  await expect(page.getByTestId("listening-port-80")).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId("ports-note")).toBeHidden();
  await expect(page.getByTestId("preview-status")).toHaveAttribute("data-state", "ready");

  const link = page.getByTestId("open-preview-80");
  await expect(link).toHaveAttribute("href", "/guest/80/");
  const [preview] = await Promise.all([page.context().waitForEvent("page"), link.click()]);
  await expect(preview.locator("body")).toHaveText("hello-from-uml-42");
  expect(new URL(preview.url()).pathname).toBe("/guest/80/");
  await preview.close();

  // Keyboard only: the inline preview opens from its button and closes with Escape, focus back on the button.
  const inline = page.getByTestId("inline-preview-80");
  await inline.focus();
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("preview-pane")).toBeVisible();
  await expect(page.frameLocator('[data-testid="preview-frame"]').locator("body")).toHaveText("hello-from-uml-42");
  await page.getByTestId("preview-reload").focus();
  await page.keyboard.press("Escape");
  await expect(page.getByTestId("preview-pane")).toBeHidden();
  await expect(inline).toBeFocused();
});

test("a port forward carries raw bytes to httpd in UML and back, and a closed port is refused", async ({ booted }) => {
  const { page } = booted;
  // httpd from the test above still listens on 80: an HTTP/1.0 request by hand, the answer until its FIN.
  const answer = await page.evaluate(() => window.umlab?.forwardPort(80, "GET /index.html HTTP/1.0\r\n\r\n"));
  expect(answer).toMatch(/^HTTP\/1\.[01] 200 OK\r\n/);
  expect(answer).toContain("hello-from-uml-42");
  await expect(page.evaluate((p) => window.umlab?.forwardPort(p, "x"), CLOSED_PORT)).rejects.toThrow(new RegExp(`nothing listens on port ${CLOSED_PORT}`));
});

test("a loopback service the page provides answers UML's wget at 10.0.2.2:<port>", async ({ booted }) => {
  const { page } = booted;
  await page.evaluate(() => window.umlab?.serveLoopback(9099, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nserved-by-the-page\n"));
  const out = await booted.capture("wget -q -O - http://10.0.2.2:9099/anything");
  expect(out).toBe("served-by-the-page");
});

test("a port nothing listens on in UML gives a clear error page", async ({ booted }) => {
  const { page } = booted;
  await expect(page.getByTestId(`listening-port-${CLOSED_PORT}`)).toHaveCount(0);
  const other = await page.context().newPage();
  try {
    const response = await other.goto(`/guest/${CLOSED_PORT}/`);
    expect(response?.fromServiceWorker()).toBe(true);
    expect(response?.status()).toBe(502);
    await expect(other.locator("body")).toContainText(`nothing listens on port ${CLOSED_PORT} in the guest`);
  } finally {
    await other.close();
  }
});

test("the httpPeer fixture serves its page and blob to the page's fetch (CORS) with the advertised sha256", async ({ booted, httpPeer }) => {
  const fetched = await booted.page.evaluate(async ({ origin, page, blob }) => {
    const text = await (await fetch(`${origin}${page.path}`)).text();
    const bytes = await (await fetch(`${origin}${blob.path}`)).arrayBuffer();
    const digest = [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");
    return { text, length: bytes.byteLength, digest };
  }, httpPeer);
  expect(fetched.text).toContain(httpPeer.page.text);
  expect(fetched.length).toBe(httpPeer.blob.bytes);
  expect(fetched.digest).toBe(httpPeer.blob.sha256);
  expect(httpPeer.requests).toEqual(expect.arrayContaining([`GET ${httpPeer.page.path}`, `GET ${httpPeer.blob.path}`]));
});
