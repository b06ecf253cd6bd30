/**
 * ipsets as `ipset save` (`create …` / `add …` lines, what the probe captures) and `ipset list`
 * (Name:/Type:/Header:/Members: blocks) print them. kube-proxy's IPVS mode keeps its ClusterIPs,
 * node ports and hairpin tuples in such sets (KUBE-CLUSTER-IP, KUBE-LOOP-BACK, …).
 */
import type { IpSet } from "../../model/ipvs.js";
import { ParseError } from "../errors.js";

/** Header words that are flags (no value) in `create` lines and `Header:` fields. */
const HEADER_FLAGS = new Set(["counters", "comment", "skbinfo", "forceadd", "nomatch", "bucketsize-auto"]);

function parseHeader(tokens: string[], fail: (d: string) => never): Record<string, string> {
  const header: Record<string, string> = {};
  for (let i = 0; i < tokens.length; i++) {
    const k = tokens[i] as string;
    if (HEADER_FLAGS.has(k)) {
      header[k] = "";
      continue;
    }
    const v = tokens[i + 1];
    if (v === undefined) fail(`set option "${k}" has no value`);
    header[k] = v as string;
    i++;
  }
  return header;
}

/**
 * Check that a member has as many comma-separated parts as the type has dimensions and that an
 * address dimension holds an address: catches listings cut or edited by hand ("...").
 */
function checkMember(member: string, type: string, fail: (d: string) => never): void {
  const dims = (type.split(":")[1] ?? "").split(",");
  const parts = member.split(",");
  if (parts.length !== dims.length) {
    fail(`member "${member}" has ${parts.length} part(s) but type ${type} has ${dims.length}`);
  }
  dims.forEach((d, i) => {
    const p = parts[i] as string;
    if (
      (d === "ip" || d === "net") &&
      !/^[0-9a-fA-F]*[.:][0-9a-fA-F.:]*(\/\d+)?(-[0-9a-fA-F.:]+)?$/.test(p)
    ) {
      fail(`member "${member}": "${p}" is not an address, as type ${type} needs (a truncated listing?)`);
    }
  });
}

/** Parse `ipset save` output. An `add` to a set no `create` line made throws ParseError with the line. */
export function parseIpsetSave(text: string): IpSet[] {
  const sets: IpSet[] = [];
  const byName = new Map<string, IpSet>();
  const rows = text.split("\n");
  for (let i = 0; i < rows.length; i++) {
    const raw = rows[i] as string;
    const line = i + 1;
    const t = raw.replace(/\r$/, "").trim();
    if (t === "" || t.startsWith("#")) continue;
    const fail = (d: string): never => {
      throw new ParseError("ipset save", line, d, raw);
    };
    const tokens = t.split(/\s+/);
    const [cmd, name, arg] = tokens;
    if (name === undefined || arg === undefined) fail("expected 'create NAME TYPE …' or 'add NAME ENTRY …'");
    if (cmd === "create" || cmd === "-N") {
      if (byName.has(name as string)) fail(`set ${name} is created twice`);
      const set: IpSet = {
        name: name as string,
        type: arg as string,
        header: parseHeader(tokens.slice(3), fail),
        members: [],
      };
      byName.set(set.name, set);
      sets.push(set);
    } else if (cmd === "add" || cmd === "-A") {
      const set = byName.get(name as string);
      if (!set) {
        fail(`add to set ${name}, which no earlier 'create ${name} …' line makes`);
        continue;
      }
      checkMember(arg as string, set.type, fail);
      set.members.push(arg as string);
    } else {
      fail(`expected create or add, got "${cmd}"`);
    }
  }
  return sets;
}

const FIELD_RE = /^([A-Za-z][A-Za-z ]*):\s*(.*)$/;

/**
 * Parse `ipset list` output: blocks of `Name:`, `Type:`, `Revision:`, `Header:`, … `Members:`
 * followed by one member per line. A block whose member count differs from its
 * `Number of entries:` throws ParseError (the listing was cut).
 */
export function parseIpsetList(text: string): IpSet[] {
  const sets: IpSet[] = [];
  let current: IpSet | undefined;
  let inMembers = false;
  let expected: number | undefined;
  let blockLine = 0;
  let lastLine = 0;
  const finish = () => {
    if (current && expected !== undefined && current.members.length !== expected) {
      throw new ParseError(
        "ipset list",
        lastLine,
        `set ${current.name} (line ${blockLine}) says ${expected} entries but lists ${current.members.length}: the listing is cut or edited`,
      );
    }
  };
  const rows = text.split("\n");
  for (let i = 0; i < rows.length; i++) {
    const raw = rows[i] as string;
    const line = i + 1;
    const t = raw.replace(/\r$/, "");
    const fail = (d: string): never => {
      throw new ParseError("ipset list", line, d, raw);
    };
    if (t.trim() === "") {
      inMembers = false;
      continue;
    }
    lastLine = line;
    if (inMembers && !t.startsWith("Name:")) {
      const member = t.trim().split(/\s+/)[0] as string;
      checkMember(member, (current as IpSet).type, fail);
      (current as IpSet).members.push(member);
      continue;
    }
    const m = FIELD_RE.exec(t);
    if (!m) {
      fail("not an ipset list line (expected 'Field: value' or a member after 'Members:')");
      continue;
    }
    const field = m[1] as string;
    const value = (m[2] as string).trim();
    if (field === "Name") {
      finish();
      current = { name: value, type: "", header: {}, members: [] };
      sets.push(current);
      inMembers = false;
      expected = undefined;
      blockLine = line;
      continue;
    }
    if (!current) {
      fail(`"${field}:" before any "Name:" line`);
      continue;
    }
    switch (field) {
      case "Type":
        current.type = value;
        break;
      case "Header":
        current.header = parseHeader(value.split(/\s+/).filter(Boolean), fail);
        break;
      case "Number of entries":
        expected = Number(value);
        break;
      case "Members":
        if (!current.type) fail(`set ${current.name} has no Type: line before its members`);
        inMembers = true;
        break;
      default:
        // Revision, Size in memory, References: not part of the model.
        break;
    }
  }
  finish();
  return sets;
}
