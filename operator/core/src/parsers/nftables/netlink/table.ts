/** One NEWTABLE message → the table fields parseNftJson reads from `nft -j list table` (family, name, handle). */
import type { NftFamily } from "../../../model/nftables.js";
import { Attrs } from "./attrs.js";
import {
  NFT_MSG_NEWTABLE,
  NFTA_TABLE_FLAGS,
  NFTA_TABLE_HANDLE,
  NFTA_TABLE_NAME,
  NFTA_TABLE_OWNER,
  NFTA_TABLE_PAD,
  NFTA_TABLE_USE,
  NFTA_TABLE_USERDATA,
} from "./constants.js";
import { NftNetlinkError } from "./errors.js";
import { nftBody } from "./messages.js";
import type { NetlinkMessage } from "./reader.js";

export interface NftTableHeader {
  family: NftFamily;
  name: string;
  handle: number;
  /**
   * Never set: nft 1.0.6's JSON has no table comment (measured: `nft -j list table|tables` omits the
   * comment `nft list table` prints), so neither has the table parseNftJson builds.
   */
  comment?: string;
}

/** The reply to a `{ kind: "table" }` query: family, name and handle as `nft -j` lists them. */
export function decodeNftTable(m: NetlinkMessage): NftTableHeader {
  const { family, attrs } = nftBody(m, NFT_MSG_NEWTABLE, "table");
  const a = new Attrs(
    attrs,
    "table",
    [
      NFTA_TABLE_NAME,
      NFTA_TABLE_FLAGS,
      NFTA_TABLE_USE,
      NFTA_TABLE_HANDLE,
      NFTA_TABLE_USERDATA,
      NFTA_TABLE_OWNER,
    ],
    [NFTA_TABLE_PAD],
  );
  const name = a.needStr(NFTA_TABLE_NAME);
  const handle = a.u64(NFTA_TABLE_HANDLE);
  if (handle === undefined) throw new NftNetlinkError(`table ${name}: missing handle`);
  return { family, name, handle };
}
