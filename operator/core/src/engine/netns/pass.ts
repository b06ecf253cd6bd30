/**
 * One packet's pass through the netfilter of one network namespace: the hooks it meets, in the order
 * the walk meets them, with the packet, the mark and the conntrack entry carried from one hook to the
 * next as the kernel carries them (skb->mark and skb->_nfct live for the whole pass; crossing into
 * another netns scrubs both). This is the one place that runs a netns' hook sequence, for routed,
 * locally generated, bridged (br_netfilter) and IPVS-transmitted packets alike.
 *
 * The request's pass ends with a conntrack entry for its netns; the reply's pass matches the entry the
 * request left there, skips the nat chains (they only see a connection's first packet), and has the
 * request's NAT undone at nf_nat's priorities.
 */
import type { Route } from "../../model/route.js";
import type { Packet } from "../../model/trace.js";
import type { ConntrackEntry } from "../../model/walk.js";
import { replyCtState, reversed, unNatChain } from "../conntrack.js";
import type { WalkContext } from "../context.js";
import { chainSources, type HookOutcome, runBaseChains } from "../netfilter/hooks.js";
import type { BaseChain, Hook, NetfilterContext } from "../netfilter/types.js";
import { netfilterBase, recordNetfilter, stopOnVerdict } from "../netfilter-hops.js";
import type { NetnsView } from "../world.js";

/** The devices netfilter sees at a hook (`-i`, `-o`, `-m physdev`). */
export interface HookDevices {
  inDev?: string;
  outDev?: string;
  physInDev?: string;
  physOutDev?: string;
}

export interface HookOptions {
  /** The route the packet leaves by (POSTROUTING): MASQUERADE takes its preferred source. */
  route?: Route;
  /** Which base chains run (IPVS's transmit path leaves out nat OUTPUT). */
  include?: (chain: BaseChain) => boolean;
}

export class NetfilterPass {
  packet: Packet;
  mark = 0;
  /** ct status dnat, as rules see it. */
  ctDnat: boolean;
  /** The request's addresses were translated here (for the entry the reply meets). */
  private translatedDst = false;
  private translatedSrc = false;
  /** Global index of the hop that translated the request here. */
  private natHop?: number;
  readonly original: Packet;
  /** Reply: the request's entry in this netns that the reply matched. */
  readonly entry?: ConntrackEntry;
  private readonly ctState: NetfilterContext["ctState"];

  constructor(
    private readonly ctx: WalkContext,
    readonly view: NetnsView,
    packet: Packet,
  ) {
    this.packet = packet;
    this.original = packet;
    if (ctx.direction === "reply") {
      const entry = ctx.conntrack.match(view.state.netns, packet);
      if (entry) this.entry = entry;
      this.ctState = replyCtState(entry, packet);
      this.ctDnat = entry?.dnat ?? false;
    } else {
      this.ctState = "new";
      this.ctDnat = false;
    }
  }

  /** The IPVS scheduler rewrote the destination (ip_vs_nat_xmit): the entry's reply un-DNATs it. */
  translated(packet: Packet, hop: number | undefined): void {
    this.packet = packet;
    this.translatedDst = true;
    if (hop !== undefined) this.natHop = hop;
  }

  /** Runs the base chains of `hook` on the packet; records them as hops; ends the walk on drop/reject. */
  run(hook: Hook, devs: HookDevices, opts: HookOptions = {}): HookOutcome {
    const { state } = this.view;
    const nat = this.ctState === "new";
    const chains = chainSources(state)
      .flatMap((source) => source(hook))
      .filter((c) => (nat || c.type !== "nat") && (opts.include?.(c) ?? true));
    const unNat = this.entry ? unNatChain(state, this.entry, hook) : undefined;
    if (unNat) chains.push(unNat);
    const out = runBaseChains(chains, hook, this.packet, {
      ...netfilterBase(state, this.ctx.endpoint),
      ...devs,
      mark: this.mark,
      ctState: this.ctState,
      ctDnat: this.ctDnat,
    });
    if (hook === "postrouting") this.masquerade(out, devs.outDev, opts.route);
    const before = this.ctx.b.hops.length;
    recordNetfilter(this.ctx.b, this.view, out, hook);
    stopOnVerdict(this.ctx.b, this.view, out, hook);
    const natHop = this.ctx.b.hops
      .slice(before)
      .findLast((h) => h.action === "dnat" || h.action === "snat" || h.action === "masquerade");
    if (natHop) this.natHop = natHop.index;
    if (out.dnat) {
      this.ctDnat = true;
      this.translatedDst = true;
    }
    if (out.snat) this.translatedSrc = true;
    this.packet = out.packet;
    this.mark = out.mark;
    return out;
  }

  /**
   * MASQUERADE takes the address the kernel would pick for the output device: the route's preferred
   * source, else the device's first IPv4 address (for a bridged packet, the bridge's).
   */
  private masquerade(out: HookOutcome, outDev: string | undefined, route: Route | undefined): void {
    const step = out.steps.find((s) => s.action === "masquerade");
    if (!step || outDev === undefined) return;
    const src =
      route?.prefsrc ?? this.view.state.addresses.find((a) => a.ifname === outDev && a.family === 4)?.local;
    if (!src) return;
    step.packet = { ...(step.packet ?? out.packet), src };
    out.packet = { ...out.packet, src };
  }

  /** The request leaves (or is delivered in) this netns: conntrack's entry for it here. */
  finish(): void {
    if (this.ctx.direction !== "request") return;
    this.ctx.created.push({
      node: this.view.node,
      netns: this.view.state.netns,
      original: this.original,
      reply: reversed(this.packet),
      dnat: this.translatedDst,
      snat: this.translatedSrc,
      hop: this.natHop ?? this.ctx.b.lastIndex ?? this.ctx.b.firstHop,
    });
  }
}
