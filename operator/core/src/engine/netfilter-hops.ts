/** Netfilter outcomes as hops and findings. */
import type { NetnsState } from "../model/state.js";
import type { HopAction, Packet, Primitive } from "../model/trace.js";
import type { TraceBuilder } from "./builder.js";
import { inNetns } from "./commands.js";
import { endpointOf } from "./conntrack.js";
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
  "un-dnat": "un-dnat",
  "un-snat": "un-snat",
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
  if (step.family === "conntrack") return "conntrack";
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
    case "un-dnat":
      return `the reply's source is restored to ${packet ? endpointOf(packet, "src") : "?"} (the request was DNATed here)`;
    case "un-snat":
      return `the reply's destination is restored to ${packet ? endpointOf(packet, "dst") : "?"} (the request was SNATed here)`;
    default:
      return `${at}: ${step.action.toUpperCase()}`;
  }
}

/**
 * Records a hook's steps as hops (emission only: the walk decided what they do). The command of each
 * hop runs in the netns the rules were read from.
 */
export function recordNetfilter(b: TraceBuilder, view: NetnsView, out: HookOutcome, hook: Hook): void {
  for (const step of visibleSteps(out.steps)) {
    b.hop(view, {
      layer: step.family === "ipvs" ? "ipvs" : "netfilter",
      primitive: primitiveOf(step),
      rule: `${step.table}/${step.chain}${step.ruleIndex !== undefined ? ` rule ${step.ruleIndex}` : ""}`,
      action: ACTIONS[step.action],
      summary: summaryOf(step, hook, step.packet),
      evidence: [step.evidence],
      command: step.family === "conntrack" ? step.command : inNetns(view.state, step.command),
      ...(step.packet ? { packet: step.packet } : {}),
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
}

/** A hook that dropped or rejected the packet: the finding at its last hop, and the end of the walk. */
export function stopOnVerdict(b: TraceBuilder, view: NetnsView, out: HookOutcome, hook: Hook): void {
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
