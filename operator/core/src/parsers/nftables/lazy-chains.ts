/**
 * The chains of one nft table, decoded on demand: parseNftJson records where each chain is declared
 * and which rule elements belong to it; `get` decodes the chain and its rules the first time, then
 * keeps them. Iterating every value (`values()`, `forEach`, spreading) decodes every chain, so the
 * evaluator asks for the base chains by name (hookedChains) and walks jumps with `get`.
 */
import type { NftChain, NftRuleset, NftTable } from "../../model/nftables.js";
import { IntVec } from "../iptables/int-vec.js";

/** How many chains and rules a ruleset has decoded so far: the proof that parsing is lazy. */
export interface NftParseStats {
  chainsParsed: number;
  rulesParsed: number;
}

/** An NftRuleset from parseNftJson, which also tells how much of it has been decoded. */
export interface LazyNftRuleset extends NftRuleset {
  stats(): NftParseStats;
}

/** Decodes the chain declared at element `chainIndex` with the rule elements `ruleIndices`. */
export type NftChainDecoder = (chainIndex: number, ruleIndices: readonly number[]) => NftChain;

/** A Map of chain name → chain whose values are decoded on first access. */
export class LazyNftChains extends Map<string, NftChain> {
  /** Chain name → element index of its declaration (-1: set directly, nothing to decode). */
  private readonly declared = new Map<string, number>();
  /**
   * Rule element indices per chain, keyed by the chain's declaration index: nft prints a chain's
   * rules in one run, so a chain's rules are [first, first + count) unless `scattered` says more.
   */
  private readonly runs = new Map<number, number>();
  private readonly scattered = new Map<number, number[]>();
  /** Flat pairs (first, count) in `runs` order, as one typed array instead of 60k small arrays. */
  private readonly firstCount = new IntVec(1024);
  private readonly hooked: string[] = [];

  constructor(private readonly decode: NftChainDecoder) {
    super();
  }

  /** Records the declaration of chain `name` at element `index`. */
  declare(name: string, index: number, hasHook: boolean): void {
    if (!this.declared.has(name)) this.declared.set(name, index);
    if (hasHook) this.hooked.push(name);
  }

  /** Records rule element `index` as the next rule of `chain`; false if the chain is unknown. */
  addRule(chain: string, index: number): boolean {
    const decl = this.declared.get(chain);
    if (decl === undefined) return false;
    const scattered = this.scattered.get(decl);
    if (scattered) {
      scattered.push(index);
      return true;
    }
    const slot = this.runs.get(decl);
    if (slot === undefined) {
      this.runs.set(decl, this.firstCount.push(index));
      this.firstCount.push(1);
      return true;
    }
    const first = this.firstCount.get(slot);
    const count = this.firstCount.get(slot + 1);
    if (first + count === index) this.firstCount.set(slot + 1, count + 1);
    else this.toScattered(decl, slot, index);
    return true;
  }

  private toScattered(decl: number, slot: number, index: number): void {
    const first = this.firstCount.get(slot);
    const count = this.firstCount.get(slot + 1);
    const list = Array.from({ length: count }, (_, i) => first + i);
    list.push(index);
    this.scattered.set(decl, list);
    this.runs.delete(decl);
  }

  /** The rule element indices of the chain declared at `decl`. */
  private ruleIndices(decl: number): number[] {
    const scattered = this.scattered.get(decl);
    if (scattered) return scattered;
    const slot = this.runs.get(decl);
    if (slot === undefined) return [];
    const first = this.firstCount.get(slot);
    return Array.from({ length: this.firstCount.get(slot + 1) }, (_, i) => first + i);
  }

  /** Number of rules of `chain`, without decoding them. */
  ruleCount(chain: string): number {
    const done = super.get(chain);
    if (done) return done.rules.length;
    const decl = this.declared.get(chain);
    if (decl === undefined) return 0;
    const slot = this.runs.get(decl);
    return this.scattered.get(decl)?.length ?? (slot === undefined ? 0 : this.firstCount.get(slot + 1));
  }

  /** The chains with a hook, decoded (only those). */
  hookedChains(): NftChain[] {
    return this.hooked.map((n) => this.get(n)).filter((c): c is NftChain => c !== undefined);
  }

  override get(name: string): NftChain | undefined {
    const done = super.get(name);
    if (done !== undefined) return done;
    const index = this.declared.get(name);
    if (index === undefined || index < 0) return undefined;
    const chain = this.decode(index, this.ruleIndices(index));
    super.set(name, chain);
    return chain;
  }

  override has(name: string): boolean {
    return this.declared.has(name);
  }

  override set(name: string, chain: NftChain): this {
    if (!this.declared.has(name)) this.declared.set(name, -1);
    if (chain.hook !== undefined && !this.hooked.includes(name)) this.hooked.push(name);
    return super.set(name, chain);
  }

  override delete(name: string): boolean {
    const i = this.hooked.indexOf(name);
    if (i >= 0) this.hooked.splice(i, 1);
    super.delete(name);
    return this.declared.delete(name);
  }

  override clear(): void {
    this.declared.clear();
    this.runs.clear();
    this.scattered.clear();
    this.hooked.length = 0;
    super.clear();
  }

  override get size(): number {
    return this.declared.size;
  }

  override keys(): MapIterator<string> {
    return this.declared.keys();
  }

  /** Decodes every chain and keeps declaration order in the underlying map. */
  decodeAll(): void {
    if (super.size === this.declared.size) return;
    const all = [...this.declared.keys()].map((n) => [n, this.get(n)] as const);
    super.clear();
    for (const [n, c] of all) if (c !== undefined) super.set(n, c);
  }

  override values(): MapIterator<NftChain> {
    this.decodeAll();
    return super.values();
  }

  override entries(): MapIterator<[string, NftChain]> {
    this.decodeAll();
    return super.entries();
  }

  override [Symbol.iterator](): MapIterator<[string, NftChain]> {
    return this.entries();
  }

  override forEach(
    fn: (value: NftChain, key: string, map: Map<string, NftChain>) => void,
    thisArg?: unknown,
  ): void {
    this.decodeAll();
    super.forEach(fn, thisArg);
  }
}

/** A chains map that names its base chains without decoding (or reading) any other chain. */
export interface HookedChainsSource {
  hookedChains(): NftChain[];
}

function knowsHooked(chains: Map<string, NftChain>): chains is Map<string, NftChain> & HookedChainsSource {
  return typeof (chains as Partial<HookedChainsSource>).hookedChains === "function";
}

/**
 * The base chains (with a hook) of a table, decoding no other chain when the table is lazy
 * (LazyNftChains) or read chain by chain (the probe's netlink reader).
 */
export function hookedChains(table: NftTable): NftChain[] {
  if (knowsHooked(table.chains)) return table.chains.hookedChains();
  return [...table.chains.values()].filter((c) => c.hook !== undefined);
}
