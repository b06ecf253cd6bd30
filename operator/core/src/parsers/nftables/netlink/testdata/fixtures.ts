/**
 * The netlink captures of capture.sh: for each table, every chain's raw GETRULE reply and every
 * set's GETSET/GETSETELEM replies (base64), with nft's own `nft -j list chain|set|map` output of the
 * same kernel state. See PROVENANCE.md.
 */
import { readFileSync } from "node:fs";
import type { NftChain, NftRuleset, NftSet, NftTable } from "../../../../model/nftables.js";
import { parseNftJson } from "../../parse.js";
import { type NetlinkMessage, NetlinkReplyReader } from "../reader.js";

interface RawCapture {
  family: string;
  table: string;
  tableSeq: number;
  tableNetlink: string;
  tableNftJson: string;
  chains: { name: string; seq: number; netlink: string; nftJson: string }[];
  sets: {
    name: string;
    anonymous: boolean;
    setSeq: number;
    set: string;
    elementsSeq: number;
    elements: string;
    nftJson: string;
    nftStatus: number;
  }[];
}

export interface CapturedChain {
  name: string;
  /** The kernel's NEWRULE messages. */
  messages: NetlinkMessage[];
  /** nft's JSON of the same chain, as parseNftJson reads it. */
  expected: NftChain;
}

export interface CapturedSet {
  name: string;
  anonymous: boolean;
  set: NetlinkMessage;
  elements: NetlinkMessage[];
  /** nft's JSON of the same set; undefined for anonymous sets, which nft does not list by name. */
  expected: NftSet | undefined;
}

export interface Capture {
  file: string;
  family: string;
  table: string;
  /** The kernel's NEWTABLE reply, and the table as parseNftJson reads `nft -j list tables`. */
  tableMessage: NetlinkMessage;
  expectedTable: NftTable;
  chains: CapturedChain[];
  sets: CapturedSet[];
}

export const CAPTURES = [
  "golden-kube-proxy",
  "k3s-riset-kube-proxy",
  "flannel-ipv4",
  "render-coverage",
  "shapes-ip",
  "shapes-ip6",
] as const;

export function replyMessages(base64: string, seq: number): NetlinkMessage[] {
  const reader = new NetlinkReplyReader(seq);
  reader.push(new Uint8Array(Buffer.from(base64, "base64")));
  if (!reader.done || reader.errno !== undefined) throw new Error(`capture reply ${seq} incomplete or failed`);
  return reader.messages;
}

/**
 * parseNftJson of `nft -j list chain|set` output. That output has no table object, which
 * parseNftJson requires first: one is inserted (handle 0; no rule or set field depends on it).
 */
function parseListing(text: string, family: string, table: string): NftRuleset {
  const doc = JSON.parse(text) as { nftables: object[] };
  const [meta, ...rest] = doc.nftables;
  const withTable = { nftables: [meta, { table: { family, name: table, handle: 0 } }, ...rest] };
  return parseNftJson(JSON.stringify(withTable));
}

export function loadCapture(file: (typeof CAPTURES)[number]): Capture {
  const raw = JSON.parse(
    readFileSync(new URL(`./${file}.netlink.json`, import.meta.url), "utf8"),
  ) as RawCapture;
  const chains = raw.chains.map((c) => {
    const expected = parseListing(c.nftJson, raw.family, raw.table).tables[0]?.chains.get(c.name);
    if (!expected) throw new Error(`${file}: nft did not list chain ${c.name}`);
    return { name: c.name, messages: replyMessages(c.netlink, c.seq), expected };
  });
  const sets = raw.sets.map((s) => {
    let expected: NftSet | undefined;
    if (!s.anonymous) {
      expected = parseListing(s.nftJson, raw.family, raw.table).tables[0]?.sets.get(s.name);
      if (!expected) throw new Error(`${file}: nft did not list set ${s.name}`);
    }
    const set = replyMessages(s.set, s.setSeq);
    if (set.length !== 1 || !set[0]) throw new Error(`${file}: ${s.name}: expected one NEWSET message`);
    return {
      name: s.name,
      anonymous: s.anonymous,
      set: set[0],
      elements: replyMessages(s.elements, s.elementsSeq),
      expected,
    };
  });
  const [tableMessage] = replyMessages(raw.tableNetlink, raw.tableSeq);
  const expectedTable = parseNftJson(raw.tableNftJson).tables.find((t) => t.name === raw.table);
  if (!tableMessage || !expectedTable) throw new Error(`${file}: table reply or listing missing`);
  return { file, family: raw.family, table: raw.table, tableMessage, expectedTable, chains, sets };
}
