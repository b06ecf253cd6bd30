// Helper of capture.sh (run by it, as root, inside the throwaway netns it made): for one table,
// saves the kernel's raw netlink replies for every chain's rules and every set (named, and anonymous
// ones the rules reference), next to nft's own `nft -j list chain|set|map` output of the same state.
// Usage: node capture.mjs <netns> <family> <table> <out.json>
import { execFileSync, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import {
  anonymousSetsOf,
  encodeNftQuery,
  NetlinkReplyReader,
} from "../../../../../dist/parsers/nftables/netlink/index.js";

const [ns, family, table, out] = process.argv.slice(2);
if (!ns || !family || !table || !out) throw new Error("usage: capture.mjs <netns> <family> <table> <out.json>");

const SOCAT = ["socat", "-b", "65536", "-t", "0.3", "-", "SOCKET-DATAGRAM:16:3:12:x00000000000000000000"];
let seq = 1;

/** Sends one query through socat in the netns; returns the raw reply bytes and the decoded reader. */
function ask(query) {
  const s = seq++;
  const raw = execFileSync("ip", ["netns", "exec", ns, ...SOCAT], { input: encodeNftQuery(query, s) });
  const reader = new NetlinkReplyReader(s);
  reader.push(new Uint8Array(raw));
  if (!reader.done) throw new Error(`no complete reply to ${JSON.stringify(query)}`);
  return { seq: s, reply: raw.toString("base64"), reader };
}

function nft(...args) {
  const r = spawnSync("ip", ["netns", "exec", ns, "nft", ...args], { encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const listing = JSON.parse(nft("-j", "list", "table", family, table).stdout).nftables;
const chains = listing.filter((o) => o.chain).map((o) => o.chain.name);
const named = listing.filter((o) => o.set || o.map).map((o) => ({ name: (o.set ?? o.map).name, kind: o.set ? "set" : "map" }));

const header = ask({ kind: "table", family, table });
const result = {
  family,
  table,
  // The table's own reply, with nft's `nft -j list tables <family>` (its table object is compared).
  tableSeq: header.seq,
  tableNetlink: header.reply,
  tableNftJson: nft("-j", "list", "tables", family).stdout,
  chains: [],
  sets: [],
};
const anonymous = new Set();
for (const chain of chains) {
  const rules = ask({ kind: "rules", family, table, chain });
  for (const name of anonymousSetsOf(rules.reader.messages)) anonymous.add(name);
  const listed = nft("-j", "list", "chain", family, table, chain);
  result.chains.push({ name: chain, seq: rules.seq, netlink: rules.reply, nftJson: listed.stdout });
}
const sets = [...named, ...[...anonymous].map((name) => ({ name, kind: name.startsWith("__map") ? "map" : "set" }))];
for (const { name, kind } of sets) {
  const set = ask({ kind: "set", family, table, set: name });
  const elements = ask({ kind: "elements", family, table, set: name });
  const listed = nft("-j", "list", kind, family, table, name);
  result.sets.push({
    name,
    anonymous: anonymous.has(name),
    setSeq: set.seq,
    set: set.reply,
    elementsSeq: elements.seq,
    elements: elements.reply,
    // nft refuses to list an anonymous set by name: its status and stderr are kept as they are.
    nftJson: listed.stdout,
    nftStatus: listed.status,
    nftStderr: listed.stderr,
  });
}
writeFileSync(out, `${JSON.stringify(result, null, 1)}\n`);
console.error(`capture.mjs: ${family} ${table}: ${result.chains.length} chains, ${result.sets.length} sets -> ${out}`);
