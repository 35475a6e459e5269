import { describe, expect, it } from "vitest";
import { adviceParts, badLabProblem, bootProblem, unknownBootModeProblem, unknownKernelProblem } from "./problems.ts";

describe("bootProblem", () => {
  it("titles each kind and keeps the message verbatim", () => {
    expect(bootProblem({ kind: "manifest-missing", message: "No images at x (HTTP 404)" })).toMatchObject({
      title: "Images not built",
      message: "No images at x (HTTP 404)",
    });
    expect(bootProblem({ kind: "artifact-corrupt", message: "m", file: "rootfs.img.zst" })).toMatchObject({ title: "Corrupted artifact", file: "rootfs.img.zst" });
    expect(bootProblem({ kind: "artifact-missing", message: "m" }).title).toBe("Missing artifact");
    expect(bootProblem({ kind: "manifest-invalid", message: "m" }).title).toBe("Bad manifest");
    expect(bootProblem({ kind: "emulator", message: "m" }).title).toBe("Emulator failed");
    expect(bootProblem({ kind: "stale-disk", message: "m" }).title).toBe("Disk from an older release");
  });
  it("tells the user to build the images when there are none", () => {
    expect(bootProblem({ kind: "manifest-missing", message: "m" }).advice).toContain("`npm run images`");
  });
  it("leaves the file out when the error has none", () => {
    expect("file" in bootProblem({ kind: "emulator", message: "m" })).toBe(false);
  });
});

describe("unknownKernelProblem", () => {
  it("offers to boot the fallback", () => {
    expect(unknownKernelProblem("Unknown kernel", "lean").action).toBe("Boot lean");
  });
});

describe("adviceParts", () => {
  it("marks backticked spans as code", () => {
    expect(adviceParts("run `npm run images` then reload")).toEqual([
      { text: "run ", code: false },
      { text: "npm run images", code: true },
      { text: " then reload", code: false },
    ]);
  });
});

describe("address problems", () => {
  it("explain bad lab names and boot modes with a way out", () => {
    expect(badLabProblem("Bad lab name \"X\"")).toMatchObject({ title: "Bad lab name", action: "Open the default lab" });
    expect(badLabProblem("m").advice).toContain("`?lab=`");
    expect(unknownBootModeProblem("m").advice).toContain("`?boot=cold`");
  });
});
