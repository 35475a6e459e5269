import { describe, expect, it } from "vitest";
import { AgentChannel } from "./agent-channel.ts";

describe("AgentChannel", () => {
  it("pairs each command with the next reply line, one at a time, across split chunks", async () => {
    const sent: string[] = [];
    const agent = new AgentChannel((bytes) => sent.push(new TextDecoder().decode(bytes)));
    const first = agent.request("time 1700000000");
    const second = agent.request("ping");
    expect(sent).toEqual(["time 1700000000\n"]);
    agent.receive(new TextEncoder().encode("ok time 1700"));
    agent.receive(new TextEncoder().encode("000000 uml=ok\r\n"));
    await expect(first).resolves.toBe("ok time 1700000000 uml=ok");
    await Promise.resolve();
    expect(sent).toEqual(["time 1700000000\n", "ping\n"]);
    agent.receive(new TextEncoder().encode("ok ping\n"));
    await expect(second).resolves.toBe("ok ping");
  });

  it("rejects error replies and silence", async () => {
    const agent = new AgentChannel(() => undefined);
    const bad = agent.request("nope");
    agent.receive(new TextEncoder().encode("error unknown command nope\n"));
    await expect(bad).rejects.toThrow(/error unknown command/);
    await expect(agent.request("ping", 10)).rejects.toThrow(/did not answer/);
  });
});
