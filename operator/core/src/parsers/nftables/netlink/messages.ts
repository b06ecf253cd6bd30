/** The nf_tables messages the decoder reads: NEWRULE, NEWSET, NEWSETELEM (nfgenmsg + attributes). */
import type { NftFamily } from "../../../model/nftables.js";
import { Attrs, parseAttrs } from "./attrs.js";
import {
  familyName,
  NFGENMSG_LEN,
  NFNL_SUBSYS_NFTABLES,
  NFTA_RULE_CHAIN,
  NFTA_RULE_EXPRESSIONS,
  NFTA_RULE_HANDLE,
  NFTA_RULE_PAD,
  NFTA_RULE_POSITION,
  NFTA_RULE_TABLE,
  NFTA_RULE_USERDATA,
} from "./constants.js";
import { NftNetlinkError, NftNetlinkUnsupported } from "./errors.js";
import type { NetlinkMessage } from "./reader.js";

/** The family and attributes of an nf_tables message of type `msg`. */
export function nftBody(
  m: NetlinkMessage,
  msg: number,
  what: string,
): { family: NftFamily; attrs: Uint8Array } {
  if (m.type !== ((NFNL_SUBSYS_NFTABLES << 8) | msg)) {
    throw new NftNetlinkError(`${what}: unexpected message type 0x${m.type.toString(16)}`);
  }
  if (m.payload.length < NFGENMSG_LEN) throw new NftNetlinkError(`${what}: truncated nfgenmsg`);
  const family = familyName(m.payload[0] as number);
  if (!family) throw new NftNetlinkUnsupported(`${what}: family ${m.payload[0]}`);
  return { family, attrs: m.payload.subarray(NFGENMSG_LEN) };
}

export interface RuleMessage {
  family: NftFamily;
  table: string;
  chain: string;
  handle: number;
  expressions: Uint8Array;
  userdata: Uint8Array | undefined;
}

export function readRuleMessage(m: NetlinkMessage, msg: number): RuleMessage {
  const { family, attrs } = nftBody(m, msg, "rule");
  const a = new Attrs(
    attrs,
    "rule",
    [NFTA_RULE_TABLE, NFTA_RULE_CHAIN, NFTA_RULE_HANDLE, NFTA_RULE_EXPRESSIONS, NFTA_RULE_USERDATA],
    // POSITION (the previous rule's handle) is implied by the dump order.
    [NFTA_RULE_PAD, NFTA_RULE_POSITION],
  );
  const handle = a.u64(NFTA_RULE_HANDLE);
  if (handle === undefined) throw new NftNetlinkError("rule: missing handle");
  return {
    family,
    table: a.needStr(NFTA_RULE_TABLE),
    chain: a.needStr(NFTA_RULE_CHAIN),
    handle,
    expressions: a.bytes(NFTA_RULE_EXPRESSIONS) ?? new Uint8Array(0),
    userdata: a.bytes(NFTA_RULE_USERDATA),
  };
}

/** Names of the sets a rule's lookup/dynset expressions name, read leniently (any expression kind). */
export function referencedSets(expressions: Uint8Array): string[] {
  const names: string[] = [];
  for (const elem of parseAttrs(expressions, "rule expressions")) {
    let name: string | undefined;
    let data: Uint8Array | undefined;
    for (const a of parseAttrs(elem.data, "expression")) {
      if (a.type === 1) name = new TextDecoder().decode(a.data.subarray(0, Math.max(0, a.data.indexOf(0))));
      if (a.type === 2) data = a.data;
    }
    if (!data || (name !== "lookup" && name !== "dynset")) continue;
    // NFTA_LOOKUP_SET and NFTA_DYNSET_SET_NAME are both attribute 1.
    const set = parseAttrs(data, name).find((a) => a.type === 1);
    if (set) {
      const nul = set.data.indexOf(0);
      names.push(new TextDecoder().decode(nul >= 0 ? set.data.subarray(0, nul) : set.data));
    }
  }
  return names;
}
