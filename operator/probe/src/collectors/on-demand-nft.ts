/**
 * Demand-driven nftables for one trace, the nft counterpart of on-demand-iptables.ts: a table's
 * chains and sets are read from the kernel when the walk first asks for them, one netlink request
 * each (nft-netlink.ts), instead of `nft -j list table` (10 s and 50 MB on a 10k-Service
 * kube-proxy table, because nft fetches all 10k anonymous sets before printing anything).
 *
 * What is known before any rule is read comes from `nft -j list chains` (NftChainListing): which
 * chains exist and the hooks, priorities and policies of the base chains. A chain or set asked for
 * and not read yet is recorded as missing and looks absent; traceOnDemand reads what is missing
 * and runs the walk again, until a run misses nothing.
 *
 * Exactness: core decodes the kernel's expressions into the JSON nft itself would print, and
 * refuses (NftNetlinkUnsupported) whatever it cannot render exactly. On such a refusal the table is
 * read whole with `nft -j list table` (nft-file.ts) and served from that listing from then on:
 * slower, never different. Without socat there is no netlink reader at all (onDemandNft says so,
 * and the collector lists the tables with nft as before).
 */
import {
  anonymousSetsOf,
  decodeNftRules,
  decodeNftSet,
  decodeNftTable,
  type HookedChainsSource,
  type NftChain,
  type NftChainListing,
  type NftFamily,
  NftNetlinkUnsupported,
  type NftRuleset,
  type NftSet,
  type NftTable,
} from "@netmap/core";
import type { NetnsExecOptions } from "./netns-exec.js";
import { type FileBackedNft, listNftTableLazily } from "./nft-file.js";
import {
  describeNftQuery,
  type NetlinkReply,
  NetlinkSessionError,
  NftNetlinkSession,
} from "./nft-netlink.js";
import type { OnDemandSource } from "./on-demand.js";

/** Bounds of one table read on demand. */
export const ON_DEMAND_NFT_LIMITS = {
  /** Chains plus sets read from one table in one trace. */
  maxObjects: 512,
};

const ENOENT = 2;

/** Chain name → chain, filled as the walk asks (see the module comment). */
class OnDemandNftChains extends Map<string, NftChain> implements HookedChainsSource {
  constructor(private readonly table: OnDemandNftTable) {
    super();
  }

  override get(name: string): NftChain | undefined {
    return this.table.chain(name);
  }

  override has(name: string): boolean {
    return this.table.declares(name);
  }

  hookedChains(): NftChain[] {
    return this.table.baseChainNames().flatMap((n) => {
      const c = this.table.chain(n);
      return c ? [c] : [];
    });
  }
}

/** Set name → set, filled as the walk asks. */
class OnDemandNftSets extends Map<string, NftSet> {
  constructor(private readonly table: OnDemandNftTable) {
    super();
  }

  override get(name: string): NftSet | undefined {
    return this.table.set(name);
  }
}

/** One nft table read object by object; see the module comment. */
export class OnDemandNftTable implements NftTable {
  readonly chains: Map<string, NftChain>;
  readonly sets: Map<string, NftSet>;
  comment?: string;
  /** Per chain / set: what was read, or null when the kernel has none. */
  private readonly readChains = new Map<string, NftChain | null>();
  private readonly readSets = new Map<string, NftSet | null>();
  private readonly wantedChains = new Set<string>();
  private readonly wantedSets = new Set<string>();
  /** The whole table, once netlink could not serve it exactly (`fallbackReason` says why). */
  private whole: FileBackedNft | undefined;
  fallbackReason?: string;
  /** Netlink requests and nft commands run for this table. */
  requests = 0;

  constructor(
    readonly family: NftFamily,
    readonly name: string,
    readonly handle: number,
    private readonly listing: NftChainListing,
    private readonly session: NftNetlinkSession,
    private readonly netns: string,
    private readonly exec?: NetnsExecOptions,
  ) {
    this.chains = new OnDemandNftChains(this);
    this.sets = new OnDemandNftSets(this);
  }

  private get wholeTable(): NftTable | undefined {
    return this.whole?.ruleset.tables.find((t) => t.family === this.family && t.name === this.name);
  }

  declares(name: string): boolean {
    const whole = this.wholeTable;
    if (whole) return whole.chains.has(name);
    return this.listing.has(this.family, this.name, name);
  }

  baseChainNames(): string[] {
    const shape = this.listing.shapes().find((t) => t.family === this.family && t.name === this.name);
    return [...(shape?.baseChains ?? [])];
  }

  chain(name: string): NftChain | undefined {
    const whole = this.wholeTable;
    if (whole) return whole.chains.get(name);
    const got = this.readChains.get(name);
    if (got !== undefined) return got ?? undefined;
    if (!this.listing.has(this.family, this.name, name)) return undefined;
    this.wantedChains.add(name);
    return undefined;
  }

  set(name: string): NftSet | undefined {
    const whole = this.wholeTable;
    if (whole) return whole.sets.get(name);
    const got = this.readSets.get(name);
    if (got !== undefined) return got ?? undefined;
    this.wantedSets.add(name);
    return undefined;
  }

  evidenceSource(object: { chain: string } | { set: string }): string {
    if (this.whole) return `nft -j list table ${this.family} ${this.name}`;
    return "chain" in object
      ? `netlink NFT_MSG_GETRULE ${this.family} ${this.name} ${object.chain}`
      : `netlink NFT_MSG_GETSET ${this.family} ${this.name} ${object.set}`;
  }

  /** Chains and sets asked for and not read yet. */
  get missing(): number {
    return this.wantedChains.size + this.wantedSets.size;
  }

  /** Reads what is missing; on a refusal to decode exactly, reads the whole table instead. */
  async fetchMissing(): Promise<void> {
    const chains = [...this.wantedChains];
    const sets = [...this.wantedSets];
    this.wantedChains.clear();
    this.wantedSets.clear();
    if (
      this.readChains.size + this.readSets.size + chains.length + sets.length >
      ON_DEMAND_NFT_LIMITS.maxObjects
    ) {
      throw new Error(
        `nft table ${this.family} ${this.name}: a trace asked for more than ${ON_DEMAND_NFT_LIMITS.maxObjects} chains and sets (a jump loop?)`,
      );
    }
    try {
      // One request at a time: the session serialises them anyway.
      for (const c of chains) this.readChains.set(c, await this.fetchChain(this.session, c));
      for (const s of sets) this.readSets.set(s, await this.fetchSet(this.session, s));
    } catch (err) {
      if (err instanceof NftNetlinkUnsupported) return this.readWhole(err.message);
      throw err;
    }
  }

  private async ask(
    session: NftNetlinkSession,
    q: Parameters<NftNetlinkSession["query"]>[0],
  ): Promise<NetlinkReply> {
    this.requests++;
    const r = await session.query(q);
    if (r.errno !== undefined && r.errno !== ENOENT) {
      throw new Error(`netlink: ${describeNftQuery(q)}: errno ${r.errno}`);
    }
    return r;
  }

  private async fetchChain(session: NftNetlinkSession, name: string): Promise<NftChain | null> {
    const decl = this.listing.chain(this.family, this.name, name);
    if (!decl) return null;
    const { family, name: table } = this;
    // A rules dump of a chain the kernel does not have comes back empty, not ENOENT (kernel 6.18):
    // existence is the listing's to say, which is why a chain not in it is never asked for.
    const reply = await this.ask(session, { kind: "rules", family, table, chain: name });
    const anon = new Map<string, NftSet>();
    for (const s of anonymousSetsOf(reply.messages)) {
      const set = await this.fetchSet(session, s);
      if (set) anon.set(s, set);
    }
    return { ...decl, rules: decodeNftRules(reply.messages, (n) => anon.get(n)) };
  }

  private async fetchSet(session: NftNetlinkSession, name: string): Promise<NftSet | null> {
    const { family, name: table } = this;
    const head = await this.ask(session, { kind: "set", family, table, set: name });
    const msg = head.messages[0];
    if (head.errno === ENOENT || !msg) return null;
    const elements = await this.ask(session, { kind: "elements", family, table, set: name });
    return decodeNftSet(msg, elements.messages);
  }

  private async readWhole(reason: string): Promise<void> {
    this.fallbackReason = reason;
    this.requests++;
    this.whole = await listNftTableLazily(this.netns, this.family, this.name, this.exec);
  }

  /** Frees the whole-table listing, if one was read. */
  release(): void {
    this.whole?.release();
  }
}

/** The nft tables of a netns, read on demand; see the module comment. */
export class OnDemandNftRuleset implements NftRuleset, OnDemandSource {
  readonly tables: OnDemandNftTable[] = [];
  version?: string;

  constructor(private readonly session: NftNetlinkSession) {}

  get missing(): number {
    return this.tables.reduce((n, t) => n + t.missing, 0);
  }

  async fetchMissing(): Promise<void> {
    for (const t of this.tables) if (t.missing > 0) await t.fetchMissing();
  }

  /** Netlink requests and nft commands run. */
  get commands(): number {
    return this.tables.reduce((n, t) => n + t.requests, 0);
  }

  /** Tables read whole instead, with the reason. */
  fallbacks(): string[] {
    return this.tables.flatMap((t) =>
      t.fallbackReason ? [`${t.family} ${t.name}: ${t.fallbackReason}`] : [],
    );
  }

  /** Ends the netlink session and frees whole-table listings. */
  close(): void {
    this.session.close();
    for (const t of this.tables) t.release();
  }
}

/**
 * An on-demand ruleset over the tables `keep` names (from the `nft -j list chains` listing), or
 * undefined when socat is not installed: the caller then lists the tables with nft instead.
 */
export async function onDemandNft(
  netns: string,
  listing: NftChainListing,
  keep: readonly { family: string; name: string }[],
  exec?: NetnsExecOptions & { socat?: string },
): Promise<OnDemandNftRuleset | undefined> {
  const session = await NftNetlinkSession.open(netns, exec?.socat);
  const rs = new OnDemandNftRuleset(session);
  try {
    for (const t of keep) {
      const family = t.family as NftFamily;
      const r = await session.query({ kind: "table", family, table: t.name });
      const msg = r.messages[0];
      if (r.errno !== undefined || !msg) {
        throw new Error(
          `netlink: no nft table ${family} ${t.name} (errno ${r.errno ?? "none"}): was it deleted?`,
        );
      }
      const { handle, comment } = decodeNftTable(msg);
      const table = new OnDemandNftTable(family, t.name, handle, listing, session, netns, exec);
      if (comment !== undefined) table.comment = comment;
      rs.tables.push(table);
    }
  } catch (err) {
    rs.close();
    if (err instanceof NetlinkSessionError && err.toolMissing) return undefined;
    throw err;
  }
  return rs;
}
