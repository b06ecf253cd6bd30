import { describe, expect, it } from "vitest";
import { fixtureReader, parseError } from "../../testkit.js";
import { parseBridgeLinkJson, parseBridgeLinkText } from "./bridge-link.js";
import { parseBridgeFdbJson, parseBridgeFdbText } from "./fdb.js";

const fixture = fixtureReader(import.meta.url);

describe("parseBridgeFdbText", () => {
  const fdb = parseBridgeFdbText(fixture("flannel-flysnow-bridge-fdb-show.txt"));

  it("reads flannel.1's VTEP entries with their remote underlay dst", () => {
    const vteps = fdb.filter((e) => e.dev === "flannel.1");
    expect(vteps.map((e) => `${e.mac} ${e.dst}`)).toEqual([
      "ca:59:7d:c2:5e:0f 192.168.2.202",
      "86:22:66:41:77:3d 192.168.2.202",
      "92:1b:d8:d1:19:96 192.168.2.201",
      "f2:21:6b:d8:af:b0 192.168.2.201",
    ]);
    expect(vteps[1]).toEqual({
      mac: "86:22:66:41:77:3d",
      dev: "flannel.1",
      dst: "192.168.2.202",
      flags: ["self"],
      state: "permanent",
    });
  });

  it("reads cni0's own entries (vlan 1, master) and learned pod MACs without a state", () => {
    expect(fdb.find((e) => e.mac === "86:61:8c:f7:3e:9c" && e.vlan === 1)).toEqual({
      mac: "86:61:8c:f7:3e:9c",
      dev: "cni0",
      vlan: 1,
      master: "cni0",
      flags: [],
      state: "permanent",
    });
    expect(fdb.find((e) => e.mac === "7a:74:56:6b:40:e8")).toEqual({
      mac: "7a:74:56:6b:40:e8",
      dev: "veth8ea02941",
      master: "cni0",
      flags: [],
    });
    expect(fdb).toHaveLength(36);
  });

  it("takes the device from the argument for `bridge fdb show dev vxlan.calico`", () => {
    expect(
      parseBridgeFdbText(
        fixture("calico-vxlan-k8s133-hqwy-bridge-fdb-show-dev-vxlan-calico.txt"),
        "vxlan.calico",
      ),
    ).toEqual([
      {
        mac: "66:b9:7e:86:1e:53",
        dev: "vxlan.calico",
        dst: "10.0.0.11",
        flags: ["self"],
        state: "permanent",
      },
    ]);
    const kind = parseBridgeFdbText(
      fixture("flannel-kind-tkng-bridge-fdb-show-dev-flannel1.txt"),
      "flannel.1",
    );
    expect(kind.map((e) => e.dst)).toEqual(["172.18.0.3", "172.18.0.4"]);
    const err = parseError(() =>
      parseBridgeFdbText(fixture("flannel-kind-tkng-bridge-fdb-show-dev-flannel1.txt")),
    );
    expect(err.line).toBe(1);
  });

  it("agrees with `bridge -j fdb show` of the lab node", () => {
    expect(parseBridgeFdbText(fixture("lab-node-bridge-fdb.txt"))).toEqual(
      parseBridgeFdbJson(fixture("lab-node-bridge-fdb.json")),
    );
  });

  it("reports the line of a cut-off entry", () => {
    const lines = fixture("flannel-k8s115-hwchiu-vagrant-bridge-fdb-show-grep.txt").split("\n");
    const err = parseError(() => parseBridgeFdbText(`${lines[0]}\nee:8a:1f:f7:96:c7 dev flannel.1 dst`));
    expect(err.line).toBe(2);
    expect(err.source).toBe("bridge fdb show");
    expect(parseError(() => parseBridgeFdbText(`${lines[0]}\nee:8a:1f:f7:9`)).line).toBe(2);
  });
});

describe("parseBridgeFdbJson", () => {
  it("reads the lab's flannel.1 entry for the remote VTEP", () => {
    const fdb = parseBridgeFdbJson(fixture("lab-node-bridge-fdb.json"));
    expect(fdb.find((e) => e.dev === "flannel.1")).toEqual({
      mac: "0a:aa:bb:cc:dd:01",
      dev: "flannel.1",
      dst: "192.168.100.2",
      flags: ["self"],
      state: "permanent",
    });
    expect(fdb.filter((e) => e.master === "cni0" && e.state === undefined).map((e) => e.dev)).toEqual([
      "vethpod1",
      "vethpod2",
    ]);
  });

  it("reports truncated JSON and an entry without mac", () => {
    const json = fixture("lab-node-bridge-fdb.json");
    expect(parseError(() => parseBridgeFdbJson(json.slice(0, 100))).detail).toContain(
      "truncated or invalid JSON",
    );
    const missing = parseError(() => parseBridgeFdbJson(json.replace('"mac":"0a:aa:bb:cc:dd:01",', "")));
    expect(missing.detail).toMatch(/^element 18: missing required field "mac"/);
  });
});

describe("parseBridgeLinkText / parseBridgeLinkJson", () => {
  it("reads cni0's ports, dropping the misleading @flannel.1 suffix", () => {
    expect(parseBridgeLinkText(fixture("flannel-usernetes-azure-bridge-link-show.txt"))).toEqual([
      {
        ifindex: 4,
        ifname: "veth482f2c81",
        flags: ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"],
        mtu: 1450,
        master: "cni0",
        state: "forwarding",
        priority: 32,
        cost: 2,
      },
      {
        ifindex: 5,
        ifname: "vethaaa0d8eb",
        flags: ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"],
        mtu: 1450,
        master: "cni0",
        state: "forwarding",
        priority: 32,
        cost: 2,
      },
    ]);
  });

  it("agrees with `bridge -j link show` of the lab node", () => {
    const json = parseBridgeLinkJson(fixture("lab-node-bridge-link.json"));
    expect(parseBridgeLinkText(fixture("lab-node-bridge-link.txt"))).toEqual(json);
    expect(json.map((p) => `${p.ifindex} ${p.ifname} ${p.master} ${p.state}`)).toEqual([
      "4 vethpod1 cni0 forwarding",
      "5 vethpod2 cni0 forwarding",
    ]);
  });

  it("reports a port line cut before its state, and truncated JSON", () => {
    const err = parseError(() =>
      parseBridgeLinkText(
        "4: veth482f2c81@flannel.1: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1450 master cni0 state",
      ),
    );
    expect(err.line).toBe(1);
    expect(parseError(() => parseBridgeLinkJson('[{"ifindex":4,')).detail).toContain(
      "truncated or invalid JSON",
    );
  });
});
