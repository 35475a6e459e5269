import { describe, expect, it } from "vitest";
import { AgentChannel, answers } from "./agent-channel.ts";

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

  it("drops a late reply to another command instead of taking it for this one's", async () => {
    const agent = new AgentChannel(() => undefined);
    // A restored state's agent finishes the "ports" it was running when the state was saved.
    const time = agent.request("time 1700000000");
    const instances = agent.request("instances");
    agent.receive(new TextEncoder().encode("ok ports 22\nok time 1700000000 uml2=ok uml=ok\nok instances 2:inst2-0a1b2c3d\n"));
    await expect(time).resolves.toBe("ok time 1700000000 uml2=ok uml=ok");
    await expect(instances).resolves.toBe("ok instances 2:inst2-0a1b2c3d");
    // A timed-out request's reply arriving late is not the next request's either.
    const slow = agent.request("quiesce", 10);
    await expect(slow).rejects.toThrow(/did not answer/);
    const ping = agent.request("ping");
    agent.receive(new TextEncoder().encode("ok quiesce uml=ok\nok ping\n"));
    await expect(ping).resolves.toBe("ok ping");
  });

  it("knows which command a reply answers", () => {
    expect(answers("ok time 5 uml=ok", "time 5")).toBe(true);
    expect(answers("error merge: UML did not shut down", "merge private-1.img 5")).toBe(true);
    expect(answers("ok mconsole 0", "imconsole 2 version")).toBe(true);
    expect(answers("error mconsole: UML instance 2 is not running", "imconsole 2 version")).toBe(true);
    expect(answers("error unknown command frob", "frob x")).toBe(true);
    expect(answers("ok ports 80", "time 5")).toBe(false);
    expect(answers("ok instance-stop 2", "instance-start 2 /opt/uml/lean/linux")).toBe(false);
    expect(answers("garbage", "ping")).toBe(false);
  });
});
