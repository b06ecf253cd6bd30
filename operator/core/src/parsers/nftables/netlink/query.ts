/** Requests to the kernel's nf_tables netlink interface: one chain's rules, one set, its elements. */
import type { NftFamily } from "../../../model/nftables.js";
import {
  FAMILY_NUMBERS,
  NFGENMSG_LEN,
  NFNL_SUBSYS_NFTABLES,
  NFT_MSG_GETRULE,
  NFT_MSG_GETSET,
  NFT_MSG_GETSETELEM,
  NFT_MSG_GETTABLE,
  NFTA_RULE_CHAIN,
  NFTA_RULE_TABLE,
  NFTA_SET_ELEM_LIST_SET,
  NFTA_SET_ELEM_LIST_TABLE,
  NFTA_SET_NAME,
  NFTA_SET_TABLE,
  NFTA_TABLE_NAME,
  NLA_HDRLEN,
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_REQUEST,
  NLMSG_HDRLEN,
} from "./constants.js";

export type NftNetlinkQuery =
  | { kind: "table"; family: NftFamily; table: string }
  | { kind: "rules"; family: NftFamily; table: string; chain: string }
  | { kind: "set"; family: NftFamily; table: string; set: string }
  | { kind: "elements"; family: NftFamily; table: string; set: string };

/** nft's name limit (NFT_NAME_MAXLEN 256, including the NUL). */
const NAME_MAX = 255;

function stringAttr(type: number, value: string): Uint8Array {
  const body = new TextEncoder().encode(value);
  if (body.length > NAME_MAX) throw new RangeError(`nftables name too long: ${value.slice(0, 40)}…`);
  const len = NLA_HDRLEN + body.length + 1;
  const out = new Uint8Array((len + 3) & ~3);
  const v = new DataView(out.buffer);
  v.setUint16(0, len, true);
  v.setUint16(2, type, true);
  out.set(body, NLA_HDRLEN);
  return out;
}

/**
 * One request datagram: nlmsghdr (type (NFNL_SUBSYS_NFTABLES<<8)|msg, flags NLM_F_REQUEST|NLM_F_ACK
 * (|NLM_F_DUMP for dumps), seq, pid 0) + nfgenmsg (family AF_*, version 0, res_id 0) + attributes.
 */
export function encodeNftQuery(q: NftNetlinkQuery, seq: number): Uint8Array {
  let msg: number;
  let dump: boolean;
  let attrs: Uint8Array[];
  switch (q.kind) {
    case "table":
      msg = NFT_MSG_GETTABLE;
      dump = false;
      attrs = [stringAttr(NFTA_TABLE_NAME, q.table)];
      break;
    case "rules":
      msg = NFT_MSG_GETRULE;
      dump = true;
      attrs = [stringAttr(NFTA_RULE_TABLE, q.table), stringAttr(NFTA_RULE_CHAIN, q.chain)];
      break;
    case "set":
      msg = NFT_MSG_GETSET;
      dump = false;
      attrs = [stringAttr(NFTA_SET_TABLE, q.table), stringAttr(NFTA_SET_NAME, q.set)];
      break;
    case "elements":
      msg = NFT_MSG_GETSETELEM;
      dump = true;
      attrs = [stringAttr(NFTA_SET_ELEM_LIST_TABLE, q.table), stringAttr(NFTA_SET_ELEM_LIST_SET, q.set)];
      break;
  }
  const bodyLen = attrs.reduce((n, a) => n + a.length, 0);
  const out = new Uint8Array(NLMSG_HDRLEN + NFGENMSG_LEN + bodyLen);
  const v = new DataView(out.buffer);
  v.setUint32(0, out.length, true);
  v.setUint16(4, (NFNL_SUBSYS_NFTABLES << 8) | msg, true);
  v.setUint16(6, NLM_F_REQUEST | NLM_F_ACK | (dump ? NLM_F_DUMP : 0), true);
  v.setUint32(8, seq >>> 0, true);
  v.setUint32(12, 0, true);
  out[NLMSG_HDRLEN] = FAMILY_NUMBERS[q.family];
  out[NLMSG_HDRLEN + 1] = 0; // NFNETLINK_V0
  v.setUint16(NLMSG_HDRLEN + 2, 0, false); // res_id
  let off = NLMSG_HDRLEN + NFGENMSG_LEN;
  for (const a of attrs) {
    out.set(a, off);
    off += a.length;
  }
  return out;
}
