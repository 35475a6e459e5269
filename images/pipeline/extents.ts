// Reads debugfs's `dump_extents -l` listing: where each run of a file's blocks lies on the disk.

/** [first file block, first disk block, block count]. */
export type Extent = [fileBlock: number, diskBlock: number, count: number];

const LEAF = /^\s*\d+\/\s*\d+\s+\d+\/\s*\d+\s+(\d+)\s*-\s*(\d+)\s+(\d+)\s*-\s*(\d+)\s+(\d+)/;

/** Parses the listing and checks that the extents cover blocks 0..blocks-1 exactly once, in order. */
export function parseExtents(listing: string, blocks: number): Extent[] {
  const extents: Extent[] = [];
  for (const line of listing.split("\n")) {
    const m = LEAF.exec(line);
    if (!m) continue;
    const [first, last, disk, diskLast, count] = m.slice(1).map(Number) as [number, number, number, number, number];
    if (last - first + 1 !== count || diskLast - disk + 1 !== count) throw new Error(`inconsistent extent line: ${line.trim()}`);
    extents.push([first, disk, count]);
  }
  extents.sort((a, b) => a[0] - b[0]);
  let next = 0;
  for (const [first, , count] of extents) {
    if (first !== next) throw new Error(`the file's blocks ${next}..${first - 1} have no place on the disk (a hole)`);
    next = first + count;
  }
  if (next !== blocks) throw new Error(`the extents cover ${next} blocks, the file has ${blocks}`);
  return extents;
}
