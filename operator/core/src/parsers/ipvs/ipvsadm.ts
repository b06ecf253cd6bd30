/**
 * IPVS tables as ipvsadm prints them: `ipvsadm -S -n` (the restore format the probe captures) and
 * `ipvsadm -L -n` (the listing people paste). Both give the virtual servers with their real servers.
 */
import type { IpvsForward, IpvsProtocol, IpvsRealServer, IpvsVirtualServer } from "../../model/ipvs.js";
import { ParseError } from "../errors.js";

const SAVE = "ipvsadm -S -n";
const LIST = "ipvsadm -L -n";

interface Line {
  text: string;
  line: number;
}

function lines(text: string): Line[] {
  return text.split("\n").map((t, i) => ({ text: t.replace(/\r$/, ""), line: i + 1 }));
}

/** "10.96.0.1:443" or "[fd00::1]:443" → address and port; undefined if not numeric. */
function splitHostPort(s: string): { address: string; port: number } | undefined {
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d+)$/.exec(s) ?? /^(\d{1,3}(?:\.\d{1,3}){3}):(\d+)$/.exec(s);
  if (!m) return undefined;
  return { address: m[1] as string, port: Number(m[2]) };
}

const SERVICE_FLAG: Readonly<Record<string, IpvsProtocol>> = {
  "-t": "TCP",
  "--tcp-service": "TCP",
  "-u": "UDP",
  "--udp-service": "UDP",
  "--sctp-service": "SCTP",
  "-f": "FWM",
  "--fwmark-service": "FWM",
};

const FORWARD_FLAG: Readonly<Record<string, IpvsForward>> = {
  "-m": "Masq",
  "--masquerading": "Masq",
  "-g": "Route",
  "--gatewaying": "Route",
  "-i": "Tunnel",
  "--ipip": "Tunnel",
};

function key(protocol: IpvsProtocol, address: string, port: number): string {
  return `${protocol} ${address}:${port}`;
}

/** Parse the `-t/-u/--sctp-service ADDR:PORT` or `-f MARK` service designation at tokens[i]. */
function serviceAt(
  tokens: string[],
  i: number,
  fail: (d: string) => never,
): { protocol: IpvsProtocol; address: string; port: number; fwmark?: number } {
  const flag = tokens[i] ?? "";
  const protocol = SERVICE_FLAG[flag];
  const arg = tokens[i + 1];
  if (!protocol || arg === undefined)
    return fail(`expected -t|-u|--sctp-service ADDR:PORT or -f MARK, got "${flag}"`);
  if (protocol === "FWM") {
    if (!/^\d+$/.test(arg)) return fail(`bad firewall mark "${arg}"`);
    return { protocol, address: arg, port: 0, fwmark: Number(arg) };
  }
  const hp = splitHostPort(arg);
  if (!hp) return fail(`"${arg}" is not a numeric ADDRESS:PORT (capture with -n)`);
  return { protocol, ...hp };
}

/**
 * Parse `ipvsadm -S -n` output (`-A -t 10.96.0.1:443 -s rr -p 10800`,
 * `-a -t 10.96.0.1:443 -r 172.18.0.2:6443 -m -w 1`). A real server for a virtual server not
 * added before it, or an unknown option, throws ParseError with the line.
 */
export function parseIpvsadmSave(text: string): IpvsVirtualServer[] {
  const out: IpvsVirtualServer[] = [];
  const byKey = new Map<string, IpvsVirtualServer>();
  for (const { text: t, line } of lines(text)) {
    const trimmed = t.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const fail = (d: string): never => {
      throw new ParseError(SAVE, line, d, t);
    };
    const tokens = trimmed.split(/\s+/);
    const cmd = tokens[0];
    if (cmd === "-A" || cmd === "--add-service") {
      const svc = serviceAt(tokens, 1, fail);
      const vs: IpvsVirtualServer = {
        protocol: svc.protocol,
        address: svc.address,
        port: svc.port,
        scheduler: "wlc", // ipvsadm's default when -s is absent
        flags: [],
        realServers: [],
        text: t,
      };
      if (svc.fwmark !== undefined) vs.fwmark = svc.fwmark;
      for (let i = 3; i < tokens.length; i++) {
        const tok = tokens[i] as string;
        const next = tokens[i + 1];
        if (tok === "-s" || tok === "--scheduler") {
          if (next === undefined) fail("-s needs a scheduler");
          vs.scheduler = next as string;
          i++;
        } else if (tok === "-p" || tok === "--persistent") {
          if (next !== undefined && /^\d+$/.test(next)) {
            vs.persistent = Number(next);
            i++;
          } else vs.persistent = 300; // ipvsadm's default persistence timeout
        } else if (
          tok === "-M" ||
          tok === "--netmask" ||
          tok === "-b" ||
          tok === "--sched-flags" ||
          tok === "--pe"
        ) {
          if (next === undefined) fail(`${tok} needs an argument`);
          vs.flags.push(`${tok.replace(/^-+/, "")} ${next}`);
          i++;
        } else if (tok === "-o" || tok === "--ops") {
          vs.flags.push("ops");
        } else {
          fail(`unknown virtual service option "${tok}"`);
        }
      }
      const k = key(vs.protocol, vs.address, vs.port);
      if (byKey.has(k)) fail(`virtual service ${k} is added twice`);
      byKey.set(k, vs);
      out.push(vs);
    } else if (cmd === "-a" || cmd === "--add-server") {
      const svc = serviceAt(tokens, 1, fail);
      const vs = byKey.get(key(svc.protocol, svc.address, svc.port));
      if (!vs) {
        return fail(
          `real server for ${key(svc.protocol, svc.address, svc.port)}, which no earlier -A line adds`,
        );
      }
      let rs: IpvsRealServer | undefined;
      let forward: IpvsForward = "Route"; // ipvsadm's default forwarding method is gatewaying
      let weight = 1;
      for (let i = 3; i < tokens.length; i++) {
        const tok = tokens[i] as string;
        const next = tokens[i + 1];
        if (tok === "-r" || tok === "--real-server") {
          const hp = next !== undefined ? splitHostPort(next) : undefined;
          if (!hp) return fail(`"${next ?? ""}" is not a numeric ADDRESS:PORT (capture with -n)`);
          rs = { address: hp.address, port: hp.port, forward, weight };
          i++;
        } else if (FORWARD_FLAG[tok]) {
          forward = FORWARD_FLAG[tok] as IpvsForward;
        } else if (tok === "-w" || tok === "--weight") {
          if (next === undefined || !/^\d+$/.test(next)) return fail(`bad weight "${next ?? ""}"`);
          weight = Number(next);
          i++;
        } else if (tok === "-x" || tok === "--u-threshold" || tok === "-y" || tok === "--l-threshold") {
          i++;
        } else {
          return fail(`unknown real server option "${tok}"`);
        }
      }
      if (!rs) return fail("-a without -r ADDRESS:PORT");
      rs.forward = forward;
      rs.weight = weight;
      vs.realServers.push(rs);
      vs.text += `\n${t}`;
    } else {
      fail(`expected -A (virtual service) or -a (real server), got "${cmd}"`);
    }
  }
  return out;
}

const LIST_SERVICE_RE = /^(TCP|UDP|SCTP|FWM)\s+(\S+)\s+(\S+)(.*)$/;
const LIST_REAL_RE = /^\s+->\s+(\S+)\s+(Masq|Route|Tunnel|Local)\s+(\d+)\s+(\d+)\s+(\d+)\s*$/;

/**
 * Parse `ipvsadm -L -n` output. `--stats`/`--rate` listings (no scheduler, no forwarding method)
 * and listings without -n (names instead of numbers) are rejected with a ParseError that says so.
 */
export function parseIpvsadmList(text: string): IpvsVirtualServer[] {
  const out: IpvsVirtualServer[] = [];
  let current: IpvsVirtualServer | undefined;
  for (const { text: t, line } of lines(text)) {
    const fail = (d: string): never => {
      throw new ParseError(LIST, line, d, t);
    };
    if (t.trim() === "") continue;
    if (t.startsWith("IP Virtual Server version")) continue;
    if (t.startsWith("Prot LocalAddress:Port")) {
      if (/\bConns\b|\bCPS\b/.test(t)) {
        fail(
          "this is `ipvsadm -L -n --stats`/`--rate` output, which has no scheduler or forwarding method; capture `ipvsadm -S -n` or `ipvsadm -L -n`",
        );
      }
      continue;
    }
    if (/^\s+-> RemoteAddress:Port/.test(t)) continue;
    const svc = LIST_SERVICE_RE.exec(t);
    if (svc) {
      const protocol = svc[1] as IpvsProtocol;
      const where = svc[2] as string;
      const vs: IpvsVirtualServer = {
        protocol,
        address: where,
        port: 0,
        scheduler: svc[3] as string,
        flags: [],
        realServers: [],
        text: t,
      };
      if (protocol === "FWM") {
        if (!/^\d+$/.test(where)) fail(`bad firewall mark "${where}"`);
        vs.fwmark = Number(where);
      } else {
        const hp = splitHostPort(where);
        if (!hp) fail(`"${where}" is not a numeric ADDRESS:PORT: capture with -n (ipvsadm -L -n)`);
        vs.address = (hp as { address: string }).address;
        vs.port = (hp as { port: number }).port;
      }
      const rest = (svc[4] as string).trim().split(/\s+/).filter(Boolean);
      for (let i = 0; i < rest.length; i++) {
        const tok = rest[i] as string;
        if (tok === "persistent") {
          const n = rest[i + 1];
          if (n === undefined || !/^\d+$/.test(n)) fail("persistent needs a timeout");
          vs.persistent = Number(n);
          i++;
        } else if (tok === "mask" || tok === "pe") {
          vs.flags.push(`${tok} ${rest[i + 1] ?? ""}`);
          i++;
        } else {
          vs.flags.push(tok);
        }
      }
      out.push(vs);
      current = vs;
      continue;
    }
    const real = LIST_REAL_RE.exec(t);
    if (real) {
      if (!current) fail("real server line before any virtual service");
      const hp = splitHostPort(real[1] as string);
      if (!hp) fail(`"${real[1]}" is not a numeric ADDRESS:PORT: capture with -n (ipvsadm -L -n)`);
      const rs: IpvsRealServer = {
        address: (hp as { address: string }).address,
        port: (hp as { port: number }).port,
        forward: real[2] as IpvsForward,
        weight: Number(real[3]),
        activeConn: Number(real[4]),
        inactConn: Number(real[5]),
      };
      const vs = current as IpvsVirtualServer;
      vs.realServers.push(rs);
      vs.text += `\n${t}`;
      continue;
    }
    fail(
      "not an ipvsadm -L -n line (expected a virtual service or a '  -> ADDRESS:PORT Forward Weight ActiveConn InActConn' line)",
    );
  }
  return out;
}
