/** Fidelity on a host-gw lab: pod CIDRs routed via the other node's underlay address, no tunnel. */
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Lab } from "./lab.js";
import { createLab } from "./lab.js";
import { confirmWithCounters, TCP_PORT, traceLab } from "./trace.js";

let lab: Lab;

beforeAll(async () => {
  lab = await createLab({ name: "fidhostgw", nodes: 2, podsPerNode: 2, overlay: "host-gw" });
});

afterAll(async () => {
  await lab?.destroy();
});

it("cross node over host-gw routes: the uplink eth0 of both nodes and both pods' veths move by the burst", async () => {
  const [src, dst] = [lab.pods[0], lab.pods[3]];
  if (!src || !dst || src.node === dst.node) throw new Error("lab pods are not on two nodes");
  const r = await traceLab(lab, { protocol: "tcp", src: src.ip, dst: dst.ip, sport: 40000, dport: TCP_PORT });
  expect(r.verdict).toBe("Delivered");
  const route = r.hops.find((h) => h.node === src.node && h.netns === "host" && h.primitive === "route");
  expect(route?.summary).toContain(`via ${lab.nodes[1]?.underlayIp} dev eth0`);
  expect(r.hops.some((h) => h.layer === "tunnel")).toBe(false);
  const { traced, confirmed } = await confirmWithCounters(lab, r, src, dst);
  expect(confirmed).toBe(traced);
  expect(traced).toBeGreaterThanOrEqual(6);
  console.log(
    `[fidelity] host-gw: ${r.hops.length} hops traced, ${confirmed}/${traced} traversed devices and traced rules confirmed by counters`,
  );
});
