// Without a relay, UML's wget still reaches a server on the user's machine (the test's loopback HTTP peer)
// as 10.0.2.2: the stack turns the request into fetch("http://localhost:<port>/...").
import { expect, test } from "./fixtures.ts";

const sha256Line = /^([0-9a-f]{64})\s+-$/m;

test.use({ bootPath: "/?relay=none" });

test("the panel says only fetch and localhost work, and UML's wget still reaches the peer through fetch", async ({ booted, httpPeer }) => {
  await expect(booted.page.getByTestId("network-transport")).toContainText("No relay");
  const before = httpPeer.requests.length;
  const page = await booted.capture(`wget -q -O - http://10.0.2.2:${httpPeer.port}${httpPeer.page.path}`);
  expect(page).toContain(httpPeer.page.text);
  const sum = await booted.capture(`wget -q -O - http://10.0.2.2:${httpPeer.port}${httpPeer.blob.path} | sha256sum`);
  expect(sha256Line.exec(sum)?.[1]).toBe(httpPeer.blob.sha256);
  expect(httpPeer.requests.slice(before)).toEqual([`GET ${httpPeer.page.path}`, `GET ${httpPeer.blob.path}`]);
  expect((await booted.page.evaluate(() => window.umlab?.network()))?.transport).toBe("fetch");
  // A private address the allow-list refuses: wget reports the transport's 403 instead of hanging.
  const refused = await booted.capture("wget -q -O - http://192.168.1.1/ 2>&1; echo rc=$?");
  expect(refused).toMatch(/403|Forbidden/);
});
