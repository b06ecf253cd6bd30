import { describe, expect, it } from "vitest";
import { fixtureReader, parseError } from "../../testkit.js";
import { parseIpvsadmList, parseIpvsadmSave } from "./ipvsadm.js";

const fixture = fixtureReader(import.meta.url);

describe("parseIpvsadmList (ipvsadm -L -n)", () => {
  it("reads persistence (sessionAffinity ClientIP) and Masq real servers from the upstream README", () => {
    const vs = parseIpvsadmList(fixture("k8s-ipvs-readme-ipvsadm-ln.txt"));
    expect(vs).toHaveLength(3);
    expect(vs[0]).toMatchObject({
      protocol: "TCP",
      address: "10.0.0.1",
      port: 443,
      scheduler: "rr",
      persistent: 10800,
    });
    expect(vs[0]?.realServers).toEqual([
      { address: "192.168.0.1", port: 6443, forward: "Masq", weight: 1, activeConn: 1, inactConn: 0 },
    ]);
    expect(vs[2]?.protocol).toBe("UDP");
    expect(vs[2]?.persistent).toBeUndefined();
  });

  it("reads a full kind worker table: NodePort on three addresses, DNS with inactive connections", () => {
    const vs = parseIpvsadmList(fixture("kind-tkng-ipvsadm-Ln-full.txt"));
    expect(vs).toHaveLength(12);
    const np = vs.filter((v) => v.port === 31730).map((v) => v.address);
    expect(np).toEqual(["192.168.224.4", "10.244.2.1", "127.0.0.1"]);
    const dns = vs.find((v) => v.protocol === "UDP");
    expect(dns?.realServers.map((r) => `${r.address}:${r.port}/${r.inactConn}`)).toEqual([
      "10.244.0.3:53/8",
      "10.244.0.4:53/8",
    ]);
    expect(dns?.text).toBe(
      "UDP  10.96.0.10:53 rr\n  -> 10.244.0.3:53                Masq    1      0          8\n  -> 10.244.0.4:53                Masq    1      0          8",
    );
  });

  it("reads a three-endpoint Service of a minikube node", () => {
    const vs = parseIpvsadmList(fixture("minikube-otus-ipvsadm-list-n.txt"));
    const web = vs.find((v) => v.address === "10.97.181.101");
    expect(web?.realServers.map((r) => r.address)).toEqual(["172.17.0.3", "172.17.0.4", "172.17.0.5"]);
    expect(parseIpvsadmList(fixture("antrea-k8s128-andreasm-ipvsadm-Ln.txt"))).toHaveLength(5);
  });

  it("rejects --stats output with a message saying what to capture instead", () => {
    const e = parseError(() => parseIpvsadmList(fixture("k8s-3master-desistdaydream-ipvsadm-ln-stats.txt")));
    expect(e.line).toBe(2);
    expect(e.detail).toMatch(/--stats.*capture `ipvsadm -S -n`/);
  });

  it("rejects a listing without -n (resolved names) at the line", () => {
    const e = parseError(() => parseIpvsadmList("TCP  10.96.0.1:https rr\n"));
    expect(e.line).toBe(1);
    expect(e.detail).toMatch(/capture with -n/);
  });
});

// ipvsadm -S -n syntax, mirroring kind-tkng-ipvsadm-Ln-full.txt and k8s-ipvs-readme-ipvsadm-ln.txt
// (no real capture exists: this kernel has no IPVS).
const SAVE = `-A -t 10.0.0.1:443 -s rr -p 10800
-a -t 10.0.0.1:443 -r 192.168.0.1:6443 -m -w 1
-A -u 10.96.0.10:53 -s rr
-a -u 10.96.0.10:53 -r 10.244.0.3:53 -m -w 1
-a -u 10.96.0.10:53 -r 10.244.0.4:53 -m -w 2
-A -f 100 -s sh -b sh-port
-a -f 100 -r 10.244.0.9:0 -g -w 1
`;

describe("parseIpvsadmSave (ipvsadm -S -n)", () => {
  it("reads services, persistence, forwarding methods and weights", () => {
    const vs = parseIpvsadmSave(SAVE);
    expect(vs.map((v) => `${v.protocol} ${v.address}:${v.port} ${v.scheduler}`)).toEqual([
      "TCP 10.0.0.1:443 rr",
      "UDP 10.96.0.10:53 rr",
      "FWM 100:0 sh",
    ]);
    expect(vs[0]?.persistent).toBe(10800);
    expect(vs[1]?.realServers).toEqual([
      { address: "10.244.0.3", port: 53, forward: "Masq", weight: 1 },
      { address: "10.244.0.4", port: 53, forward: "Masq", weight: 2 },
    ]);
    expect(vs[2]?.fwmark).toBe(100);
    expect(vs[2]?.flags).toEqual(["b sh-port"]);
    expect(vs[2]?.realServers[0]?.forward).toBe("Route");
    expect(vs[0]?.text).toBe(
      "-A -t 10.0.0.1:443 -s rr -p 10800\n-a -t 10.0.0.1:443 -r 192.168.0.1:6443 -m -w 1",
    );
  });

  it("rejects a real server whose virtual service was never added, at its line", () => {
    const e = parseError(() =>
      parseIpvsadmSave("-A -t 10.0.0.1:443 -s rr\n-a -t 10.0.0.2:443 -r 10.1.1.1:443 -m -w 1\n"),
    );
    expect(e.line).toBe(2);
    expect(e.detail).toMatch(/TCP 10.0.0.2:443, which no earlier -A line adds/);
  });

  it("rejects unknown options and non-numeric addresses", () => {
    expect(parseError(() => parseIpvsadmSave("-A -t 10.0.0.1:443 -s rr --bogus\n")).line).toBe(1);
    expect(parseError(() => parseIpvsadmSave("\n-A -t kubernetes:https -s rr\n")).line).toBe(2);
  });
});
