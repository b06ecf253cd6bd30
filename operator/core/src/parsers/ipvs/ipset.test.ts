import { describe, expect, it } from "vitest";
import { fixtureReader, parseError } from "../../testkit.js";
import { parseIpsetList, parseIpsetSave } from "./ipset.js";

const fixture = fixtureReader(import.meta.url);

describe("parseIpsetSave on a real `ipset save` of kube-proxy's sets", () => {
  const sets = parseIpsetSave(fixture("captured-ipset-save.txt"));

  it("reads every set with its type and header options, flags included", () => {
    expect(sets.map((s) => `${s.name} ${s.type}`)).toEqual([
      "KUBE-CLUSTER-IP hash:ip,port",
      "KUBE-LOOP-BACK hash:ip,port,ip",
      "KUBE-NODE-PORT-TCP bitmap:port",
      "KUBE-LOAD-BALANCER hash:ip,port",
    ]);
    expect(sets[0]?.header).toMatchObject({
      family: "inet",
      hashsize: "1024",
      maxelem: "65536",
      comment: "",
      bucketsize: "12",
    });
    expect(sets[2]?.header).toEqual({ range: "0-65535", comment: "" });
  });

  it("keeps members (the element, without the per-entry comment)", () => {
    expect(sets[0]?.members).toContain("10.96.0.1,tcp:443");
    expect(sets[0]?.members).toHaveLength(5);
    expect(sets[1]?.members).toEqual(["10.244.1.2,tcp:3030,10.244.1.2", "10.244.1.6,tcp:80,10.244.1.6"]);
    expect(sets[2]?.members).toEqual(["31730"]);
    expect(sets[3]?.members).toEqual([]);
  });

  it("rejects an add to a set that was never created, at its line", () => {
    const e = parseError(() => parseIpsetSave("create A hash:ip family inet\nadd B 10.0.0.1\n"));
    expect(e.line).toBe(2);
    expect(e.detail).toMatch(/no earlier 'create B/);
  });
});

describe("parseIpsetList", () => {
  it("reads the same sets from the real `ipset list` as from `ipset save`", () => {
    const list = parseIpsetList(fixture("captured-ipset-list.txt"));
    const save = parseIpsetSave(fixture("captured-ipset-save.txt"));
    expect(list).toEqual(save);
  });

  it("reads several blocks of a minikube node", () => {
    const sets = parseIpsetList(fixture("minikube-otus-ipset-list.txt"));
    expect(sets.map((s) => s.name)).toEqual(["KUBE-CLUSTER-IP", "KUBE-LOOP-BACK"]);
    expect(sets[1]?.members).toHaveLength(6);
    expect(sets[1]?.members[0]).toBe("172.17.0.3,tcp:8000,172.17.0.3");
  });

  it("reads Calico's hash:net set and the kind sets", () => {
    expect(parseIpsetList(fixture("calico-kind-tkng-ipset-cali40masq-ipam-pools.txt"))[0]?.members).toEqual([
      "10.244.128.0/17",
    ]);
    expect(parseIpsetList(fixture("kind-tkng-ipset-list-KUBE-CLUSTER-IP.txt"))[0]?.members).toHaveLength(9);
    expect(parseIpsetList(fixture("kind-tkng-ipset-list-KUBE-LOOP-BACK.txt"))[0]?.type).toBe(
      "hash:ip,port,ip",
    );
  });

  it("rejects the author's trailing '...' in a listing, at its line", () => {
    const e = parseError(() => parseIpsetList(fixture("minikube-hfrog-ipset-list-numeric-proto.txt")));
    expect(e.line).toBe(14);
    expect(e.detail).toMatch(/"\.\.\." has 1 part\(s\) but type hash:ip,port has 2/);
  });

  it("keeps numeric protocols as printed by older ipset (10.96.0.10,17:53)", () => {
    const text = fixture("minikube-hfrog-ipset-list-numeric-proto.txt").replace("\n...\n", "\n");
    expect(parseIpsetList(text)[0]?.members[0]).toBe("10.96.0.10,17:53");
  });

  it("rejects a block with fewer members than it announces", () => {
    const cut = fixture("kind-tkng-ipset-list-KUBE-CLUSTER-IP.txt").split("\n").slice(0, 12).join("\n");
    const e = parseError(() => parseIpsetList(cut));
    expect(e.detail).toMatch(/says 9 entries but lists 4/);
    expect(e.line).toBe(12);
  });
});
