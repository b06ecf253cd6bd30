/** `ip -j netns list-id` → NetnsId[]. */
import { sourceCommand } from "../../capture/sources.js";
import type { NetnsId } from "../../model/state.js";
import { Fields, parseJsonArray } from "./json.js";

/**
 * Parse `ip -j netns list-id` (`[{"nsid":0,"name":"nm-n1"}]`; `name` is absent for an unnamed peer
 * netns). Empty output ("" or "[]") means no peers.
 */
export function parseNetnsListIdJson(text: string): NetnsId[] {
  const source = sourceCommand("netns-ids");
  return parseJsonArray(text, source, true).map((el) => {
    const f: Fields = new Fields(el, source);
    const id: NetnsId = { nsid: f.reqNum("nsid") };
    const name = f.str("name");
    if (name !== undefined) id.name = name;
    return id;
  });
}
