import { describe, expect, it } from "vitest";
import { cmdlineReport, filterConfig, kernelName, kernelOptions, uploadedName, uploadValue } from "./kernel-model.ts";

const CONFIG = ["#", "# Automatically generated file; DO NOT EDIT.", "CONFIG_UML=y", "CONFIG_HOSTFS=y", "# CONFIG_NET is not set", "CONFIG_BLK_DEV_UBD=y", "", "CONFIG_UML_NET_TUNTAP=m"].join("\n");

describe("kernel options", () => {
  it("list the flavours, then each uploaded kernel once", () => {
    expect(kernelOptions(["lean", "debian"], ["zz", "my-kernel", "zz"])).toEqual([
      { value: "lean", label: "lean" },
      { value: "debian", label: "debian" },
      { value: "upload:my-kernel", label: "my-kernel (uploaded)" },
      { value: "upload:zz", label: "zz (uploaded)" },
    ]);
  });
  it("name uploaded kernels with a prefix", () => {
    expect(uploadValue("k")).toBe("upload:k");
    expect(uploadedName("upload:k")).toBe("k");
    expect(uploadedName("lean")).toBeUndefined();
    expect(kernelName("linux 6.1 (mine)")).toBe("linux_6.1__mine_");
  });
});

describe("filterConfig", () => {
  it("keeps option lines only and counts them", () => {
    expect(filterConfig(CONFIG, "", false)).toEqual({ lines: ["CONFIG_UML=y", "CONFIG_HOSTFS=y", "# CONFIG_NET is not set", "CONFIG_BLK_DEV_UBD=y", "CONFIG_UML_NET_TUNTAP=m"], total: 5 });
  });
  it("matches every word, ignoring case", () => {
    expect(filterConfig(CONFIG, "uml", false).lines).toEqual(["CONFIG_UML=y", "CONFIG_UML_NET_TUNTAP=m"]);
    expect(filterConfig(CONFIG, "net  =M", false).lines).toEqual(["CONFIG_UML_NET_TUNTAP=m"]);
  });
  it("can hide options that are not set", () => {
    expect(filterConfig(CONFIG, "net", true).lines).toEqual(["CONFIG_UML_NET_TUNTAP=m"]);
  });
});

describe("cmdlineReport", () => {
  it("passes warnings of a valid line", () => {
    expect(cmdlineReport({ ok: true, args: ["mem=64M"], warnings: ["w"] })).toEqual({ ok: true, errors: [], warnings: ["w"] });
  });
  it("names the token of each error unless the message already does", () => {
    expect(
      cmdlineReport({ ok: false, errors: [{ token: "ubd0=x", message: "umlab sets ubd0 itself" }, { token: "", message: "unbalanced quote" }, { token: "con=x", message: "`con=x`: umlab owns the consoles" }] }),
    ).toEqual({
      ok: false,
      errors: ["ubd0=x: umlab sets ubd0 itself", "unbalanced quote", "`con=x`: umlab owns the consoles"],
      warnings: [],
    });
  });
});
