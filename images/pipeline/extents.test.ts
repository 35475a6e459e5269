import { describe, expect, it } from "vitest";
import { parseExtents } from "./extents.ts";

const listing = `Level Entries       Logical      Physical Length Flags
 1/ 1   1/  3     0 -    65    16 -    81     66 
 1/ 1   2/  3    66 -    67   702 -   703      2 Uninit
 1/ 1   3/  3    68 -    99    82 -   113     32 
`;

describe("parseExtents", () => {
  it("reads leaf extents in file order", () => {
    expect(parseExtents(listing, 100)).toEqual([
      [0, 16, 66],
      [66, 702, 2],
      [68, 82, 32],
    ]);
  });

  it("refuses a file with a hole or a short map", () => {
    expect(() => parseExtents(listing.replace("66 -    67   702 -   703      2", "66 -    66   702 -   702      1"), 100)).toThrow(/hole/);
    expect(() => parseExtents(listing, 101)).toThrow(/cover 100 blocks/);
  });
});
