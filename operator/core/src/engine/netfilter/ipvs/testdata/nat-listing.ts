/**
 * Test helper: the captured nat tables of kube-proxy IPVS-mode nodes exist only as
 * `iptables -t nat -L -n -v` listings (what people paste), while netmap reads `iptables-save` /
 * `iptables -S`. This rewrites such a listing into `iptables -t nat -S` lines, rule for rule and in
 * order: the rules are the capture's, only their syntax changes. It knows exactly the columns and
 * match texts those listings use and throws on anything else, so nothing is guessed.
 */

const HEADER = /^\s*pkts\s+bytes\s+target\s+prot\s+opt\s+in\s+out\s+source\s+destination\s*$/;
const CHAIN = /^Chain (\S+) \((?:policy (ACCEPT|DROP) [^)]*|\d+ references)\)$/;
const ROW = /^\s*\d+[KMG]?\s+\d+[KMG]?\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s*(.*)$/;

/** `! -s 10.0.0.0/8`, `-o docker0`, or nothing for the any-value of the column. */
function column(flag: string, value: string, any: string): string[] {
  if (value === any) return [];
  return value.startsWith("!") ? ["!", flag, value.slice(1)] : [flag, value];
}

/** The listing's extra-column texts, as iptables prints each match/target, back to options. */
function extras(text: string, target: string, where: string): { matches: string[]; targetOptions: string[] } {
  const matches: string[] = [];
  const targetOptions: string[] = [];
  let rest = text.trim();
  const take = (re: RegExp): RegExpExecArray | undefined => {
    const m = re.exec(rest);
    if (m) rest = rest.slice(m[0].length).trim();
    return m ?? undefined;
  };
  while (rest !== "") {
    let m: RegExpExecArray | undefined;
    if ((m = take(/^\/\* (.*?) \*\//))) matches.push("-m", "comment", "--comment", `"${m[1]}"`);
    else if ((m = take(/^(! )?match-set (\S+) (\S+)/)))
      matches.push("-m", "set", ...(m[1] ? ["!"] : []), "--match-set", m[2] as string, m[3] as string);
    else if ((m = take(/^mark match (! )?(\S+)/)))
      matches.push("-m", "mark", ...(m[1] ? ["!"] : []), "--mark", m[2] as string);
    else if ((m = take(/^ADDRTYPE match dst-type (\S+)/))) matches.push("-m", "addrtype", "--dst-type", m[1] as string);
    else if (target === "MARK" && (m = take(/^MARK (or|xor|and) (\S+)/)))
      targetOptions.push(`--${m[1]}-mark`, m[2] as string);
    else if (target === "MASQUERADE" && take(/^random-fully/)) targetOptions.push("--random-fully");
    else throw new Error(`${where}: cannot translate "${rest}" of the listing`);
  }
  return { matches, targetOptions };
}

/** `iptables -t nat -L -n -v` text → `iptables -t nat -S` text. */
export function natListingToS(listing: string): string {
  const out: string[] = [];
  let chain: string | undefined;
  listing.split("\n").forEach((raw, i) => {
    const line = raw.replace(/\r$/, "");
    const where = `listing line ${i + 1}`;
    if (line.trim() === "" || HEADER.test(line)) return;
    const c = CHAIN.exec(line);
    if (c) {
      chain = c[1] as string;
      out.push(c[2] ? `-P ${chain} ${c[2]}` : `-N ${chain}`);
      return;
    }
    const r = ROW.exec(line);
    if (!r || !chain) throw new Error(`${where}: not a rule row of an -L -n -v listing: ${line}`);
    const [, target, prot, opt, inDev, outDev, source, destination, rest] = r as unknown as string[];
    if (opt !== "--") throw new Error(`${where}: opt ${opt} not handled`);
    const { matches, targetOptions } = extras(rest ?? "", target as string, where);
    const spec = [
      ...column("-s", source as string, "0.0.0.0/0"),
      ...column("-d", destination as string, "0.0.0.0/0"),
      ...column("-i", inDev as string, "*"),
      ...column("-o", outDev as string, "*"),
      ...(prot === "all" ? [] : ["-p", prot as string]),
      ...matches,
      "-j",
      target as string,
      ...targetOptions,
    ];
    out.push(`-A ${chain} ${spec.join(" ")}`);
  });
  return `${out.join("\n")}\n`;
}
