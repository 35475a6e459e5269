// UML's wget reaches a server on the user's machine (the test's loopback HTTP peer) as 10.0.2.2 through the
// dev server's Wisp relay, the default under `npm start`.
import { expect, test } from "./fixtures.ts";

const sha256Line = /^([0-9a-f]{64})\s+-$/m;

// The default page: in dev it uses the same-origin relay at /wisp/.
test.use({ bootPath: "/" });

test("the panel names the relay, and UML's wget gets the peer's page and 1 MiB intact", async ({ booted, httpPeer }) => {
  await expect(booted.page.getByTestId("network-transport")).toContainText("Wisp relay");
  const page = await booted.capture(`wget -q -O - http://10.0.2.2:${httpPeer.port}${httpPeer.page.path}`);
  expect(page).toContain(httpPeer.page.text);
  const sum = await booted.capture(`wget -q -O - http://10.0.2.2:${httpPeer.port}${httpPeer.blob.path} | sha256sum`);
  expect(sha256Line.exec(sum)?.[1]).toBe(httpPeer.blob.sha256);
  const status = await booted.page.evaluate(() => window.umlab?.network());
  expect(status?.transport).toBe("relay");
  expect(status?.relay?.state).toBe("open");
  await expect(booted.page.getByTestId("network-transport")).toContainText("open");
});
