/**
 * The chains of one nft table, decoded on demand: parseNftJson records where each chain is declared
 * and which rule elements belong to it; `get` decodes the chain and its rules the first time, then
 * keeps them. Iterating every value (`values()`, `forEach`, spreading) decodes every chain, so the
 * evaluator asks for the base chains by name (hookedChains) and walks jumps with `get`.
 */
import type { NftChain, NftRuleset, NftTable } from "../../model/nftables.js";

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
  private readonly rules = new Map<string, number[]>();
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
    if (!this.declared.has(chain)) return false;
    const list = this.rules.get(chain);
    if (list) list.push(index);
    else this.rules.set(chain, [index]);
    return true;
  }

  /** Number of rules of `chain`, without decoding them. */
  ruleCount(chain: string): number {
    return super.get(chain)?.rules.length ?? this.rules.get(chain)?.length ?? 0;
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
    const chain = this.decode(index, this.rules.get(name) ?? []);
    this.rules.delete(name);
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
    this.rules.delete(name);
    const i = this.hooked.indexOf(name);
    if (i >= 0) this.hooked.splice(i, 1);
    super.delete(name);
    return this.declared.delete(name);
  }

  override clear(): void {
    this.declared.clear();
    this.rules.clear();
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

/** The base chains (with a hook) of a table, decoding no other chain when the table is lazy. */
export function hookedChains(table: NftTable): NftChain[] {
  if (table.chains instanceof LazyNftChains) return table.chains.hookedChains();
  return [...table.chains.values()].filter((c) => c.hook !== undefined);
}
