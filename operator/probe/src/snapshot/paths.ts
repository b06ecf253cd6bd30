/** Path rules shared by the snapshot writer and reader. */

/** A single, safe path segment (a node or netns name): no separators, not "." or "..". */
export function isSafeSegment(s: string): boolean {
  return s.length > 0 && s.length <= 253 && s !== "." && s !== ".." && !/[/\\\0]/.test(s);
}

/** A netns directory inside a node directory: "host" or "netns/<segment>". */
export function isSafeNetnsDir(dir: string): boolean {
  if (dir === "host") return true;
  const m = /^netns\/(.+)$/.exec(dir);
  return m?.[1] !== undefined && isSafeSegment(m[1]);
}

/** The directory a netns is stored in. */
export function netnsDirFor(netns: string): string {
  return netns === "host" ? "host" : `netns/${netns}`;
}
