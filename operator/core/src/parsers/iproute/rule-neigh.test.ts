import { describe, expect, it } from "vitest";
import { fixtureReader, parseError } from "../../testkit.js";
import { parseIpNeighJson, parseIpNeighText } from "./neigh.js";
import { parseIpRuleJson, parseIpRuleText } from "./rule.js";

const fixture = fixtureReader(import.meta.url);

describe("parseIpRuleJson / parseIpRuleText", () => {
  it("reads the lab's fwmark rule into table 100 between the local and main lookups", () => {
    const rules = parseIpRuleJson(fixture("lab-node-ip-rule.json"));
    expect(rules.map((r) => `${r.priority} ${r.table}`)).toEqual([
      "0 local",
      "100 100",
      "32766 main",
      "32767 default",
    ]);
    expect(rules[1]).toEqual({
      family: 4,
      priority: 100,
      not: false,
      src: "10.244.0.0/24",
      fwmark: { value: 0x10, mask: 0xff },
      action: "lookup",
      table: "100",
    });
    expect(rules[0]?.src).toBeUndefined();
  });

  it("reads the same rules from the text form", () => {
    expect(parseIpRuleText(fixture("lab-node-ip-rule.txt"))).toEqual(
      parseIpRuleJson(fixture("lab-node-ip-rule.json")),
    );
    expect(parseIpRuleText(fixture("lab-pod-ip-rule.txt"))).toEqual(
      parseIpRuleJson(fixture("lab-pod-ip-rule.json")),
    );
  });

  it("reports a truncated rule line and truncated JSON with their lines", () => {
    const lines = fixture("lab-node-ip-rule.txt").split("\n");
    const err = parseError(() => parseIpRuleText(`${lines[0]}\n${lines[1]}\n32766:\tfrom all look`));
    expect(err.line).toBe(3);
    expect(err.source).toBe("ip rule show");
    const json = fixture("lab-node-ip-rule.json");
    expect(parseError(() => parseIpRuleJson(json.slice(0, 60))).detail).toContain(
      "truncated or invalid JSON",
    );
    const missing = parseError(() => parseIpRuleJson(json.replace('"priority":32766,', "")));
    expect(missing.detail).toMatch(/^element 2: missing required field "priority"/);
  });
});

describe("parseIpNeighText", () => {
  it("reads flannel's PERMANENT neighbour entries for the remote VTEPs", () => {
    expect(parseIpNeighText(fixture("flannel-kind-tkng-ip-neigh-perm.txt"))).toEqual([
      { dst: "10.244.1.0", dev: "flannel.1", lladdr: "ce:0a:4f:22:a4:2a", state: ["PERMANENT"] },
      { dst: "10.244.0.0", dev: "flannel.1", lladdr: "5a:11:99:ab:8c:22", state: ["PERMANENT"] },
    ]);
  });

  it("takes the device from the argument for `ip neigh show dev flannel.1`", () => {
    const n = parseIpNeighText(fixture("flannel-flysnow-ip-neigh-flannel1.txt"), "flannel.1");
    expect(n[0]).toEqual({
      dst: "10.244.2.0",
      dev: "flannel.1",
      lladdr: "86:22:66:41:77:3d",
      state: ["PERMANENT"],
    });
    const err = parseError(() => parseIpNeighText(fixture("flannel-flysnow-ip-neigh-flannel1.txt")));
    expect(err.line).toBe(1);
    expect(err.detail).toContain("without `dev`");
  });

  it("reads Calico's VTEP neighbour next to REACHABLE and DELAY entries", () => {
    const n = parseIpNeighText(fixture("calico-vxlan-k8s133-hqwy-ip-neigh.txt"));
    expect(n.find((x) => x.dev === "vxlan.calico")).toEqual({
      dst: "172.17.2.0",
      dev: "vxlan.calico",
      lladdr: "66:b9:7e:86:1e:53",
      state: ["PERMANENT"],
    });
    expect(n.map((x) => x.state[0])).toEqual(["REACHABLE", "DELAY", "PERMANENT", "REACHABLE", "DELAY"]);
  });

  it("agrees with `ip -j neigh show` of the lab node", () => {
    expect(parseIpNeighText(fixture("lab-node-ip-neigh.txt"))).toEqual(
      parseIpNeighJson(fixture("lab-node-ip-neigh.json")),
    );
    expect(parseIpNeighJson(fixture("lab-pod-ip-neigh.json"))).toEqual([]);
  });

  it("reports the line of an entry cut after lladdr", () => {
    const first = fixture("flannel-kind-tkng-ip-neigh-perm.txt").split("\n")[0];
    const err = parseError(() => parseIpNeighText(`${first}\n10.244.0.0 dev flannel.1 lladdr`));
    expect(err.line).toBe(2);
    expect(err.source).toBe("ip neigh show");
  });
});

describe("parseIpNeighJson", () => {
  it("reads the lab's permanent flannel.1 neighbour", () => {
    expect(parseIpNeighJson(fixture("lab-node-ip-neigh.json"))).toEqual([
      { dst: "10.244.1.0", dev: "flannel.1", lladdr: "0a:aa:bb:cc:dd:01", state: ["PERMANENT"] },
    ]);
  });

  it("reports truncated JSON and an entry without dev", () => {
    const json = fixture("lab-node-ip-neigh.json");
    expect(parseError(() => parseIpNeighJson(json.slice(0, 30))).detail).toContain(
      "truncated or invalid JSON",
    );
    const missing = parseError(() => parseIpNeighJson(json.replace('"dev":"flannel.1",', "")));
    expect(missing.detail).toMatch(/^element 0: missing required field "dev"/);
  });
});
