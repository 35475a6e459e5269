import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { buildShellCommand, shellQuote, ShellOutputParser } from "./shell-protocol.ts";

/** Runs the typed line through a real POSIX shell, as the guest's ash would. */
function runInSh(line: string): string {
  return execFileSync("sh", ["-c", line], { encoding: "utf8" });
}

function parseAll(output: string, chunkSize: number, nonce = "n1"): { text: string; status: number | undefined } {
  const cmd = buildShellCommand("x", nonce);
  let text = "";
  const parser = new ShellOutputParser(cmd, (t) => (text += t));
  for (let i = 0; i < output.length; i += chunkSize) parser.push(output.slice(i, i + chunkSize));
  return { text, status: parser.status };
}

describe("shell protocol", () => {
  it("quotes single quotes", () => {
    expect(runInSh(`printf %s ${shellQuote("it's \"fine\" $HOME")}`)).toBe(`it's "fine" $HOME`);
  });

  it("round-trips output and exit status through a real shell, in any chunking", () => {
    const cmd = buildShellCommand("echo hello; echo 'world'; exit_with() { return $1; }; exit_with 7", "abc");
    const raw = runInSh(cmd.line);
    for (const size of [1, 3, 1000]) {
      let text = "";
      const parser = new ShellOutputParser(cmd, (t) => (text += t));
      for (let i = 0; i < raw.length; i += size) parser.push(raw.slice(i, i + size));
      expect(text).toBe("hello\nworld\n");
      expect(parser.status).toBe(7);
    }
  });

  it("ignores the echoed command line and text before the begin marker", () => {
    const cmd = buildShellCommand("true", "n1");
    const echoed = `root@umlab:~# ${cmd.line.replace("\n", "\r\n")}`;
    const out = echoed + "\x1eBn1\x1e\r\nline one\r\n\x1eEn1 0\x1e\r\nroot@umlab:~# ";
    expect(parseAll(out, 5)).toEqual({ text: "line one\n", status: 0 });
  });

  it("keeps syntax errors inside the command", () => {
    const cmd = buildShellCommand("if then", "n2");
    const raw = execFileSync("sh", ["-c", cmd.line], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    let text = "";
    const parser = new ShellOutputParser(cmd, (t) => (text += t));
    parser.push(raw);
    expect(parser.status).toBe(2);
  });

  it("waits until the status has arrived", () => {
    const cmd = buildShellCommand("x", "n3");
    const parser = new ShellOutputParser(cmd, () => undefined);
    parser.push("\x1eBn3\x1e\nout\n\x1eEn3 1");
    expect(parser.done).toBe(false);
    parser.push("2\x1e\n");
    expect(parser.status).toBe(12);
  });
});
