/** Netfilter outcomes as hops and findings. */
import type { Route } from "../model/route.js";
import type { NetnsState } from "../model/state.js";
import type { HopAction, Packet, Primitive } from "../model/trace.js";
import type { TraceBuilder } from "./builder.js";
import type { HookOutcome } from "./netfilter/hooks.js";
import { visibleSteps } from "./netfilter/hooks.js";
import type { Hook, NetfilterContext, NetfilterStep } from "./netfilter/types.js";
import type { NetnsView } from "./world.js";

const ACTIONS: Record<NetfilterStep["action"], HopAction> = {
  jump: "jump",
  goto: "jump",
  return: "jump",
  accept: "accept",
  drop: "drop",
  reject: "reject",
  dnat: "dnat",
  snat: "snat",
  masquerade: "masquerade",
  mark: "mark",
  policy: "accept",
};

const HOOK_NAMES: Record<Hook, string> = {
  prerouting: "PREROUTING",
  input: "INPUT",
  forward: "FORWARD",
  output: "OUTPUT",
  postrouting: "POSTROUTING",
};

const localCache = new WeakMap<NetnsState, Set<string>>();

/**
 * What every hook of one netns shares for a traced packet: the netns's local addresses, conntrack's
 * view of a connection's first packet, and which Service endpoint to follow.
 */
export function netfilterBase(
  state: NetnsState,
  endpoint: number | string | undefined,
): Pick<NetfilterContext, "localAddresses" | "ctState" | "endpoint"> {
  return {
    localAddresses: localAddressSet(state),
    ctState: "new",
    ...(endpoint !== undefined ? { endpoint } : {}),
  };
}

/** Addresses local to a netns (for addrtype LOCAL / fib daddr type local). */
export function localAddressSet(state: NetnsState): Set<string> {
  const cached = localCache.get(state);
  if (cached) return cached;
  const set = new Set<string>(state.addresses.map((a) => a.local));
  for (const r of state.routes) {
    if (r.type === "local" && r.table === "local") set.add(r.dst.replace(/\/(32|128)$/, ""));
  }
  localCache.set(state, set);
  return set;
}

function primitiveOf(step: NetfilterStep): Primitive {
  if (step.family === "ipvs") return "ipvs-service";
  if (step.family === "nftables") return step.ruleIndex !== undefined ? "nft-rule" : "nft-chain";
  return step.ruleIndex !== undefined ? "iptables-rule" : "iptables-chain";
}

function summaryOf(step: NetfilterStep, hook: Hook, packet: Packet | undefined): string {
  const where = `${step.table}/${step.chain}${step.ruleIndex !== undefined ? ` rule ${step.ruleIndex}` : ""}`;
  // Name the hook unless the chain is the hook's own base chain (nat/POSTROUTING says it already).
  const at = step.chain.toUpperCase() === HOOK_NAMES[hook] ? where : `${HOOK_NAMES[hook]} ${where}`;
  switch (step.action) {
    case "jump":
      return `${at}: jump to ${step.target ?? "?"}`;
    case "goto":
      return `${at}: goto ${step.target ?? "?"}`;
    case "return":
      return `${at}: return to the calling chain`;
    case "policy":
      return `${at}: chain policy decides`;
    case "dnat":
      return `${at}: DNAT to ${packet ? `${packet.dst}${packet.dport ? `:${packet.dport}` : ""}` : "?"}`;
    case "snat":
    case "masquerade":
      return `${at}: ${step.action === "snat" ? "SNAT" : "MASQUERADE"} the source${packet ? ` to ${packet.src}` : ""}`;
    case "mark":
      return `${at}: set mark`;
    default:
      return `${at}: ${step.action.toUpperCase()}`;
  }
}

/**
 * Turns a hook's steps into hops; ends the trace on drop/reject. A MASQUERADE gets the address of
 * the output device, as the kernel picks it (the route's preferred source, else the device's first
 * address).
 */
export function emitNetfilter(
  b: TraceBuilder,
  view: NetnsView,
  out: HookOutcome,
  hook: Hook,
  egress?: { outDev: string; route: Route },
): void {
  for (const step of visibleSteps(out.steps)) {
    let packet = step.packet;
    if (step.action === "masquerade" && egress && (!packet || packet.src === out.packet.src)) {
      const src =
        egress.route.prefsrc ??
        view.state.addresses.find((a) => a.ifname === egress.outDev && a.family === 4)?.local;
      if (src) {
        packet = { ...(packet ?? out.packet), src };
        out.packet = { ...out.packet, src };
      }
    }
    b.hop(view, {
      layer: step.family === "ipvs" ? "ipvs" : "netfilter",
      primitive: primitiveOf(step),
      rule: `${step.table}/${step.chain}${step.ruleIndex !== undefined ? ` rule ${step.ruleIndex}` : ""}`,
      action: ACTIONS[step.action],
      summary: summaryOf(step, hook, packet),
      evidence: [step.evidence],
      command: step.command,
      ...(packet ? { packet } : {}),
      ...(step.endpoints ? { endpoints: step.endpoints } : {}),
      ...(step.affinity ? { affinity: step.affinity } : {}),
    });
  }
  for (const what of out.unknown) {
    b.finding(view, {
      code: "UNEVALUATED_RULE",
      severity: "warning",
      message: `${HOOK_NAMES[hook]}: ${what}; the rule was treated as not matching, so the verdict may be wrong`,
      evidence: [],
    });
  }
  if (out.verdict === "accept") return;
  const last = out.steps[out.steps.length - 1];
  // kube-proxy's nftables mode rejects in a shared reject-chain; the Service is named by the
  // no-endpoint-services / no-endpoint-nodeports vmap rule that sent the packet there.
  const via = last && out.steps.findLast((s) => s !== last && s.target === last.chain);
  const viaNoEndpoints = via !== undefined && /@no-endpoint-(services|nodeports)\b/.test(via.evidence.text);
  const evidence = last ? [...(viaNoEndpoints ? [via.evidence] : []), last.evidence] : [];
  const noEndpoints = viaNoEndpoints || (last !== undefined && /no endpoints/i.test(last.evidence.text));
  const rule = last
    ? `${last.table}/${last.chain}${last.ruleIndex !== undefined ? ` rule ${last.ruleIndex}` : ""}`
    : HOOK_NAMES[hook];
  if (noEndpoints) {
    b.finding(view, {
      code: "SERVICE_NO_ENDPOINTS",
      severity: "error",
      message: `the Service has no ready endpoints: kube-proxy ${out.verdict === "reject" ? "rejects" : "drops"} connections to it (${rule})`,
      evidence,
    });
  } else {
    b.finding(view, {
      code: out.verdict === "reject" ? "NETFILTER_REJECT" : "NETFILTER_DROP",
      severity: "error",
      message: `${HOOK_NAMES[hook]} ${rule} ${out.verdict === "reject" ? "rejects" : "drops"} the packet`,
      evidence,
    });
  }
  b.stop(
    out.verdict === "reject" ? "Rejected" : "Dropped",
    `${out.verdict === "reject" ? "rejected" : "dropped"} by ${rule} in ${HOOK_NAMES[hook]} on ${view.node}`,
  );
}
