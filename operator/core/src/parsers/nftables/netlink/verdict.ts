/** Verdicts in nft's JSON form ({"accept": null}, {"goto": {"target": "x"}}, …). */
import type { JsonObject } from "../../../model/json.js";
import { NF_ACCEPT, NF_DROP, NFT_CONTINUE, NFT_GOTO, NFT_JUMP, NFT_RETURN } from "./constants.js";
import { NftNetlinkUnsupported } from "./errors.js";
import type { Verdict } from "./exprs.js";

export function verdictJson(v: Verdict): JsonObject {
  switch (v.code) {
    case NF_ACCEPT:
      return { accept: null };
    case NF_DROP:
      return { drop: null };
    case NFT_CONTINUE:
      return { continue: null };
    case NFT_RETURN:
      return { return: null };
    case NFT_JUMP:
    case NFT_GOTO:
      if (v.chain === undefined) throw new NftNetlinkUnsupported("jump/goto without a chain name");
      return { [v.code === NFT_JUMP ? "jump" : "goto"]: { target: v.chain } };
    default:
      throw new NftNetlinkUnsupported(`verdict ${v.code}`);
  }
}
