import { describe, expect, it } from "vitest";
import { effectiveRpFilter, sysctlNumber } from "../../model/sysctl.js";
import { fixtureReader, parseError } from "../../testkit.js";
import { parseNetnsListIdJson } from "./netns.js";
import { parseSysctl } from "./sysctl.js";

const fixture = fixtureReader(import.meta.url);

describe("parseNetnsListIdJson", () => {
  it("maps the node's netns ids to the peer and pod netns names", () => {
    expect(parseNetnsListIdJson(fixture("lab-node-netns-ids.json"))).toEqual([
      { nsid: 0, name: "nmcap-peer" },
      { nsid: 1, name: "nmcap-pod1" },
      { nsid: 2, name: "nmcap-pod2" },
    ]);
    expect(parseNetnsListIdJson(fixture("lab-pod-netns-ids.json"))).toEqual([
      { nsid: 0, name: "nmcap-node" },
    ]);
  });

  it("treats empty output as no peers and keeps unnamed peers", () => {
    expect(parseNetnsListIdJson("")).toEqual([]);
    expect(parseNetnsListIdJson("[]\n")).toEqual([]);
    expect(parseNetnsListIdJson('[{"nsid":3}]')).toEqual([{ nsid: 3 }]);
  });

  it("reports truncated JSON", () => {
    const err = parseError(() => parseNetnsListIdJson('[{"nsid":0,"name":"nmcap-pe'));
    expect(err.source).toBe("ip -j netns list-id");
    expect(err.line).toBe(1);
    expect(err.detail).toContain("truncated or invalid JSON");
  });
});

describe("parseSysctl", () => {
  const node = parseSysctl(fixture("lab-node-sysctl.txt"));

  it("reads the forwarding sysctls of the lab node", () => {
    expect(node["net.ipv4.ip_forward"]).toBe("1");
    expect(sysctlNumber(node, "net.bridge.bridge-nf-call-iptables")).toBe(1);
    expect(effectiveRpFilter(node, "flannel.1")).toBe(0);
    expect(parseSysctl(fixture("lab-pod-sysctl.txt"))["net.ipv4.ip_forward"]).toBe("0");
  });

  it("keeps multi-value and empty values as printed", () => {
    expect(node["net.ipv4.ip_local_port_range"]).toBe("32768\t60999");
    expect(node["net.ipv4.ip_local_reserved_ports"]).toBe("");
    expect(Object.keys(node)).toHaveLength(fixture("lab-node-sysctl.txt").trim().split("\n").length);
  });

  it("names the line that is not `key = value`", () => {
    const lines = fixture("lab-node-sysctl.txt").split("\n").slice(0, 10);
    lines.splice(4, 0, "sysctl: permission denied on key 'net.ipv4.route.flush'", "");
    const err = parseError(() => parseSysctl(lines.join("\n")));
    expect(err.line).toBe(5);
    expect(err.source).toBe("sysctl -a -r ^net\\.(ipv4|bridge)\\.");
    expect(parseError(() => parseSysctl("net.ipv4.ip_forward = 1\nnet.ipv4.conf.all.rp_fi")).line).toBe(2);
  });
});
