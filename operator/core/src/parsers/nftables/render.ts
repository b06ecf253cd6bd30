/**
 * Renders libnftables JSON rule expressions back to nft syntax, as `nft list ruleset` prints them
 * (nft 1.0.6), for evidence. Covers what kube-proxy (nftables mode) and flannel write; anything else
 * is rendered as its JSON so evidence is never lost and rendering never throws.
 */
import type { Json, JsonObject } from "../../model/json.js";
import { isObject, numberAt, objectAt, soleKey, stringAt, stringsAt } from "./narrow.js";

/** How a literal is printed, decided by the expression it is compared with or assigned to. */
type ValueKind = "plain" | "hex32" | "quoted";

/** meta keys nft prints without the `meta` prefix. */
const UNQUALIFIED_META = new Set(["iif", "oif", "iifname", "oifname", "iifgroup", "oifgroup"]);
/** meta keys whose values are interface names (printed quoted). */
const IFNAME_META = new Set(["iifname", "oifname", "ibrname", "obrname", "ibriport", "obriport"]);
const BINOPS = ["&", "|", "^", "<<", ">>"] as const;
const VERDICTS = new Set(["accept", "drop", "continue", "return"]);

/** Renders a rule's statement list (`rule.expr`) as nft prints the rule, e.g. `ip daddr 10.0.0.1 jump x`. */
export function renderNftExpr(expr: JsonObject[]): string {
  return expr
    .map(renderStatement)
    .filter((s) => s !== "")
    .join(" ");
}

/** Renders one statement (`{"match":…}`, `{"dnat":…}`, `{"counter":…}`, …). */
export function renderStatement(stmt: JsonObject): string {
  const key = soleKey(stmt);
  if (key === undefined) return JSON.stringify(stmt);
  const body = stmt[key];
  if (VERDICTS.has(key) && (body === null || isObject(body))) return key;
  const obj = isObject(body) ? body : undefined;
  switch (key) {
    case "match":
      return obj ? renderMatch(obj) : JSON.stringify(stmt);
    case "jump":
    case "goto":
      return obj && stringAt(obj, "target") !== undefined
        ? `${key} ${stringAt(obj, "target")}`
        : JSON.stringify(stmt);
    case "counter":
      return renderCounter(body);
    case "vmap":
      return obj ? `${renderExpr(obj.key)} vmap ${renderMapData(obj.data)}` : JSON.stringify(stmt);
    case "dnat":
    case "snat":
      return obj ? renderNat(key, obj) : key;
    case "masquerade":
    case "redirect":
      return obj ? renderNat(key, obj) : key;
    case "mangle":
      return obj ? renderMangle(obj) : JSON.stringify(stmt);
    case "notrack":
      return "notrack";
    case "reject":
      return renderReject(obj);
    case "log":
      return renderLog(obj);
    case "limit":
      return obj ? renderLimit(obj) : JSON.stringify(stmt);
    case "set":
      return obj ? renderSetStatement(obj) : JSON.stringify(stmt);
    case "xt":
      return obj
        ? `xt ${stringAt(obj, "type") ?? "match"} "${stringAt(obj, "name") ?? "?"}"`
        : JSON.stringify(stmt);
    default:
      return JSON.stringify(stmt);
  }
}

function renderMatch(m: JsonObject): string {
  const op = stringAt(m, "op") ?? "==";
  const left = m.left;
  const leftText = renderExpr(left);
  const rightText = renderValue(m.right, kindOf(left));
  const leftIsBinop = isObject(left) && BINOPS.some((b) => b in left);
  if (op === "in" || (op === "==" && !leftIsBinop)) return `${leftText} ${rightText}`;
  return `${leftText} ${op} ${rightText}`;
}

function renderCounter(body: Json | undefined): string {
  if (typeof body === "string") return `counter name "${body}"`;
  if (isObject(body)) {
    const packets = numberAt(body, "packets");
    const bytes = numberAt(body, "bytes");
    if (packets !== undefined && bytes !== undefined) return `counter packets ${packets} bytes ${bytes}`;
  }
  return "counter";
}

function renderNat(kind: string, nat: JsonObject): string {
  const parts: string[] = [kind];
  const family = stringAt(nat, "family");
  if (family) parts.push(family);
  const typeFlags = stringsAt(nat, "type_flags");
  if (typeFlags.includes("concat")) parts.push("addr . port");
  else if (typeFlags.includes("prefix")) parts.push("prefix");
  const addr = nat.addr;
  const port = nat.port;
  if (addr !== undefined || port !== undefined) {
    let target = "";
    if (addr !== undefined) {
      const a = renderExpr(addr);
      target = port !== undefined && a.includes(":") && !a.includes(" ") ? `[${a}]` : a;
    }
    if (port !== undefined) target += `:${renderExpr(port)}`;
    parts.push("to", target);
  }
  const flags = stringsAt(nat, "flags");
  if (flags.length > 0) parts.push(flags.join(","));
  return parts.join(" ");
}

function renderMangle(m: JsonObject): string {
  return `${renderExpr(m.key)} set ${renderValue(m.value, kindOf(m.key))}`;
}

function renderReject(r: JsonObject | undefined): string {
  if (!r) return "reject";
  const type = stringAt(r, "type");
  const code = stringAt(r, "expr");
  if (type === "tcp reset") return "reject with tcp reset";
  if (code === undefined || code === "port-unreachable") return "reject";
  return `reject with ${type ?? "icmp"} ${code}`;
}

function renderLog(l: JsonObject | undefined): string {
  if (!l) return "log";
  const parts = ["log"];
  const prefix = stringAt(l, "prefix");
  if (prefix !== undefined) parts.push(`prefix ${JSON.stringify(prefix)}`);
  const level = stringAt(l, "level");
  if (level !== undefined) parts.push(`level ${level}`);
  const group = numberAt(l, "group");
  if (group !== undefined) parts.push(`group ${group}`);
  const flags = stringsAt(l, "flags");
  if (flags.length > 0) parts.push(`flags ${flags.join(",")}`);
  return parts.join(" ");
}

function renderLimit(l: JsonObject): string {
  const rate = numberAt(l, "rate") ?? 0;
  const per = stringAt(l, "per") ?? "second";
  const unit = stringAt(l, "rate_unit");
  const over = l.inv === true ? "over " : "";
  let text = `limit rate ${over}${rate}${unit && unit !== "packets" ? ` ${unit}` : ""}/${per}`;
  const burst = numberAt(l, "burst");
  if (burst !== undefined && burst !== 0 && burst !== 5) {
    text += ` burst ${burst} ${stringAt(l, "burst_unit") ?? "packets"}`;
  }
  return text;
}

function renderSetStatement(s: JsonObject): string {
  const op = stringAt(s, "op") ?? "add";
  const set = stringAt(s, "set") ?? "@?";
  return `${op} ${set} { ${renderExpr(s.elem)} }`;
}

/** Renders the data of a map/vmap: a named reference `@m` or an anonymous `{ k : v, … }`. */
function renderMapData(data: Json | undefined): string {
  if (typeof data === "string") return data;
  if (isObject(data) && Array.isArray(data.set)) {
    const items = data.set.map((pair) =>
      Array.isArray(pair) && pair.length === 2
        ? `${renderExpr(pair[0])} : ${renderExpr(pair[1])}`
        : renderExpr(pair),
    );
    return `{ ${items.join(", ")} }`;
  }
  return renderExpr(data);
}

/** How literals compared with `left` print: marks in 0x%08x, interface names quoted. */
function kindOf(left: Json | undefined): ValueKind {
  if (!isObject(left)) return "plain";
  const meta = objectAt(left, "meta");
  if (meta) {
    const key = stringAt(meta, "key");
    if (key === "mark") return "hex32";
    if (key !== undefined && IFNAME_META.has(key)) return "quoted";
    return "plain";
  }
  const ct = objectAt(left, "ct");
  if (ct && stringAt(ct, "key") === "mark") return "hex32";
  for (const b of BINOPS) {
    const operands = left[b];
    if (Array.isArray(operands)) return kindOf(operands[0]);
  }
  return "plain";
}

/** Renders a right-hand value with the formatting its left side asks for. */
function renderValue(v: Json | undefined, kind: ValueKind): string {
  if (typeof v === "number" && kind === "hex32") return `0x${(v >>> 0).toString(16).padStart(8, "0")}`;
  if (typeof v === "string" && kind === "quoted" && !v.startsWith("@")) return JSON.stringify(v);
  if (Array.isArray(v)) return v.map((x) => renderValue(x, kind)).join(",");
  if (isObject(v)) {
    const set = v.set;
    if (Array.isArray(set)) return `{ ${set.map((x) => renderValue(x, kind)).join(", ")} }`;
    const range = v.range;
    if (Array.isArray(range) && range.length === 2) {
      return `${renderValue(range[0], kind)}-${renderValue(range[1], kind)}`;
    }
  }
  return renderExpr(v, kind);
}

/** Renders an expression (left-hand side, value, key, verdict) in nft syntax. */
export function renderExpr(e: Json | undefined, kind: ValueKind = "plain"): string {
  if (e === undefined) return "";
  if (e === null) return "null";
  if (typeof e === "string" || typeof e === "number" || typeof e === "boolean") {
    return typeof e === "string" ? e : String(e);
  }
  if (Array.isArray(e)) return e.map((x) => renderExpr(x, kind)).join(",");
  const key = soleKey(e);
  if (key === undefined) return JSON.stringify(e);
  const body = e[key];
  const obj = isObject(body) ? body : undefined;
  if (VERDICTS.has(key) && (body === null || obj)) return key;
  switch (key) {
    case "payload":
      return obj ? renderPayload(obj) : JSON.stringify(e);
    case "meta": {
      const k = obj ? stringAt(obj, "key") : undefined;
      if (k === undefined) return JSON.stringify(e);
      return UNQUALIFIED_META.has(k) ? k : `meta ${k}`;
    }
    case "ct":
      return obj ? renderCt(obj) : JSON.stringify(e);
    case "fib":
      return obj
        ? `fib ${stringsAt(obj, "flags").join(" . ")} ${stringAt(obj, "result") ?? ""}`.trimEnd()
        : "fib";
    case "numgen": {
      if (!obj) return JSON.stringify(e);
      const offset = numberAt(obj, "offset") ?? 0;
      return `numgen ${stringAt(obj, "mode") ?? "random"} mod ${numberAt(obj, "mod") ?? 0}${offset ? ` offset ${offset}` : ""}`;
    }
    case "concat":
      return Array.isArray(body) ? body.map((x) => renderExpr(x, kind)).join(" . ") : JSON.stringify(e);
    case "prefix":
      return obj ? `${renderExpr(obj.addr)}/${numberAt(obj, "len") ?? 0}` : JSON.stringify(e);
    case "range":
    case "set":
      return renderValue(e, kind);
    case "map":
      return obj ? `${renderExpr(obj.key)} map ${renderMapData(obj.data)}` : JSON.stringify(e);
    case "elem":
      return obj ? renderElem(obj, kind) : JSON.stringify(e);
    case "jump":
    case "goto":
      return obj ? `${key} ${stringAt(obj, "target") ?? "?"}` : JSON.stringify(e);
    default:
      if ((BINOPS as readonly string[]).includes(key) && Array.isArray(body) && body.length === 2) {
        const k = kindOf(body[0]);
        return `${renderExpr(body[0])} ${key} ${renderValue(body[1], k)}`;
      }
      return JSON.stringify(e);
  }
}

function renderPayload(p: JsonObject): string {
  const protocol = stringAt(p, "protocol");
  const field = stringAt(p, "field");
  if (protocol !== undefined && field !== undefined) return `${protocol} ${field}`;
  return `@${stringAt(p, "base") ?? "?"},${numberAt(p, "offset") ?? 0},${numberAt(p, "len") ?? 0}`;
}

function renderCt(ct: JsonObject): string {
  const parts = ["ct"];
  const dir = stringAt(ct, "dir");
  if (dir) parts.push(dir);
  const family = stringAt(ct, "family");
  if (family) parts.push(family);
  parts.push(stringAt(ct, "key") ?? "?");
  return parts.join(" ");
}

function renderElem(el: JsonObject, kind: ValueKind): string {
  let text = renderValue(el.val, kind);
  const timeout = numberAt(el, "timeout");
  if (timeout !== undefined) text += ` timeout ${formatDuration(timeout)}`;
  const expires = numberAt(el, "expires");
  if (expires !== undefined) text += ` expires ${formatDuration(expires)}`;
  const comment = stringAt(el, "comment");
  if (comment !== undefined) text += ` comment ${JSON.stringify(comment)}`;
  return text;
}

/** Seconds as nft prints durations: 10800 → "3h", 7199 → "1h59m59s". */
export function formatDuration(seconds: number): string {
  if (seconds === 0) return "0s";
  let rest = Math.floor(seconds);
  const parts: string[] = [];
  for (const [unit, size] of [
    ["d", 86400],
    ["h", 3600],
    ["m", 60],
    ["s", 1],
  ] as const) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0) parts.push(`${n}${unit}`);
  }
  return parts.join("");
}
