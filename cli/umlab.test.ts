// The headless runner end to end: real images, real v86, real UML. Needs `npm run images` first.
import { describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { ImageManifest } from "../workers/core/manifest.ts";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");
const bin = path.join(root, "bin", "umlab.js");
const manifest = JSON.parse(readFileSync(path.join(root, "images", "out", "manifest.json"), "utf8")) as ImageManifest;

function umlab(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("umlab CLI", () => {
  it("run -- uname -r prints the lean UML kernel's release", async () => {
    const r = await umlab(["run", "--", "uname", "-r"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(`${manifest.kernels.lean.release}\n`);
    expect(r.code).toBe(0);
  }, 240_000);

  it("run passes the command's output and exit status through", async () => {
    const r = await umlab(["run", "--", "echo one; echo two >&2; grep -q hostfs /proc/filesystems && exit 3"]);
    expect(r.stdout).toBe("one\ntwo\n");
    expect(r.code).toBe(3);
  }, 240_000);

  it("mconsole version runs the real uml_mconsole on the host and prints UML's reply", async () => {
    const r = await umlab(["mconsole", "version"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain(manifest.kernels.lean.release);
    expect(r.code).toBe(0);
  }, 240_000);

  it("mconsole refuses an unknown command with the list of valid ones, status 1", async () => {
    const r = await umlab(["mconsole", "frobnicate"]);
    expect(r.stderr).toMatch(/version/);
    expect(r.code).toBe(1);
  }, 240_000);

  it("host -- ps lists UML's processes on the host Linux", async () => {
    const r = await umlab(["host", "--", "ps"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\/opt\/uml\/lean\/linux umid=uml-/);
  }, 240_000);

  it("run --instances 3 starts uml2 and uml3 on the switch; the command reaches them by name", async () => {
    const r = await umlab(["run", "--instances", "3", "--", "ping -c 2 -W 5 uml2 && ping -c 2 -W 5 uml3 && grep -c ' uml[0-9]$' /etc/hosts"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/PING uml2 \(10\.0\.2\.\d+\)[\s\S]*2 packets received[\s\S]*PING uml3 \(10\.0\.2\.\d+\)[\s\S]*2 packets received[\s\S]*\n2\n$/);
    expect(r.code).toBe(0);
  }, 400_000);

  it("console attaches stdin and stdout to the UML console until Ctrl-]", async () => {
    const child = spawn(process.execPath, [bin, "console"], { cwd: root, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let typed = false;
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    await new Promise<void>((resolve) => {
      child.stdout.on("data", (c: Buffer) => {
        stdout += c.toString();
        if (!typed && /root@umlab:~# /.test(stdout)) {
          typed = true;
          child.stdin.write("uname -r\n");
        }
        if (typed && stdout.includes(`\n${manifest.kernels.lean.release}`)) resolve();
      });
    });
    child.stdin.write(Buffer.from([0x1d]));
    expect(await exited).toBe(0);
  }, 240_000);

  it("profile says where the emulated CPU's instructions go, by place and by named symbol", async () => {
    const r = await umlab(["profile", "--top", "8", "--", "umlab-bench forkexec 5"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^restore to UML's prompt \(lean\): [\d.]+ M instructions in [\d.]+ s/);
    expect(r.stdout).toMatch(/umlab-bench forkexec ops=5 ns=\d+/);
    const [, command = ""] = r.stdout.split(/^"umlab-bench forkexec 5" in UML: /m);
    expect(command).toMatch(/^[\d.]+ M instructions/);
    // A UML fork+exec is mostly the host kernel's work for UML (ptrace, signals, mmap), named from the maps.
    expect(command).toMatch(/^\s+[\d.]+ %\s+host kernel, for UML$/m);
    expect(command).toMatch(/^\s+[\d.]+ %\s+host kernel, (for UML|other)\s+[A-Za-z_][\w.]*$/m);
    expect(command).toMatch(/^\s+[\d.]+ %\s+UML kernel\s+/m);
  }, 240_000);

  it("profile --wall weighs by wall time, with each place's instructions per second", async () => {
    const r = await umlab(["profile", "--wall", "--top", "5", "--", "umlab-bench syscall 200"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const [, command = ""] = r.stdout.split(/^"umlab-bench syscall 200" in UML: /m);
    expect(command).toMatch(/^[\d.]+ M instructions in [\d.]+ s .*\n\s+shares of the [\d.]+ s between samples/);
    expect(command).toMatch(/^\s+[\d.]+ %\s+[\d.]+ M\/s\s+host kernel, for UML$/m);
    const shares = [...command.matchAll(/^\s+([\d.]+) %\s+[\d.]+ M\/s\s+(?:boot|host kernel, for UML|host kernel, other|UML kernel|user programs)$/gm)].map((m) => Number(m[1]));
    expect(shares.reduce((a, b) => a + b, 0)).toBeCloseTo(100, 0);
  }, 240_000);

  it("refuses an unknown --kernel with the choices, before booting", async () => {
    const r = await umlab(["run", "--kernel", "x86_64", "--", "true"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown --kernel "x86_64"; choose one of: lean, debian');
  });

  it("says how to build images when the images folder is missing", async () => {
    const r = await umlab(["run", "--images", path.join(tmpdir(), "umlab-no-such-dir"), "--", "true"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("npm run images");
  });

  it("refuses a corrupted artifact, naming it", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "umlab-corrupt-"));
    const snapshot = manifest.snapshots?.lean;
    if (!snapshot) throw new Error("the images have no lean snapshot");
    for (const a of [...Object.values(manifest.artifacts), snapshot]) {
      const bytes = readFileSync(path.join(root, "images", "out", a.file));
      if (a.file === manifest.artifacts.hostKernel.file || a.file === snapshot.file) bytes[100] = (bytes[100] ?? 0) ^ 0xff;
      writeFileSync(path.join(dir, a.file), bytes);
    }
    writeFileSync(path.join(dir, "manifest.json"), JSON.stringify(manifest));
    // A cold boot reads the host kernel; a restore reads the snapshot instead.
    const cold = await umlab(["run", "--cold", "--images", dir, "--", "true"]);
    expect(cold.code).toBe(2);
    expect(cold.stderr).toContain(manifest.artifacts.hostKernel.file);
    expect(cold.stderr).toContain("sha256");
    const restore = await umlab(["run", "--images", dir, "--", "true"]);
    expect(restore.code).toBe(2);
    expect(restore.stderr).toContain(snapshot.file);
  });

  it("explains usage mistakes", async () => {
    expect((await umlab(["run"])).stderr).toContain("needs a command after --");
    expect((await umlab(["frobnicate"])).stderr).toContain('unknown command "frobnicate"');
    expect((await umlab(["run", "--timeout", "soon", "--", "true"])).code).toBe(2);
    expect((await umlab(["run", "--instances", "5", "--", "true"])).stderr).toContain("--instances must be a whole number from 1 to 4");
    expect((await umlab(["host", "--instances", "2", "--", "true"])).stderr).toContain("--instances goes with run");
    expect((await umlab(["profile", "--top", "0"])).stderr).toContain("--top must be a whole number from 1 up");
  }, 60_000); // six CLI starts, each compiling the CLI through tsx
});
