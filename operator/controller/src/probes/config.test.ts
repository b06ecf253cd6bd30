import { describe, expect, it } from "vitest";
import { ProbeConfigError, parseProbeConfig } from "./config.js";
import { CONFIG_HASH, probeDaemonSet } from "./daemonset.js";

const cm = (data: string) => ({
  metadata: { name: "netmap-probe", namespace: "netmap", uid: "u1" },
  data: { "probe.yaml": data },
});

describe("probe configuration", () => {
  it("refuses a bad configuration naming every problem", () => {
    let err: unknown;
    try {
      parseProbeConfig("imagePullPolicy: Sometimes\ncapabilities: [net_admin]\nbogus: 1\n");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ProbeConfigError);
    const problems = (err as ProbeConfigError).problems;
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^unknown key "bogus"/),
        expect.stringMatching(/^image is required/),
        expect.stringMatching(/^imagePullPolicy must be one of/),
        expect.stringMatching(/^capabilities must be a list/),
      ]),
    );
  });

  it("refuses text that is not a YAML mapping", () => {
    expect(() => parseProbeConfig("- a\n- b\n")).toThrow(/must be a mapping/);
    expect(() => parseProbeConfig("image: [\n")).toThrow(/is not YAML/);
  });

  it("makes a DaemonSet owned by the ConfigMap that runs a probe on every node with the V8 flags", () => {
    const cfg = parseProbeConfig("image: netmap:dev\n");
    const ds = probeDaemonSet(cm("image: netmap:dev\n"), cfg);
    expect(ds.metadata?.ownerReferences?.[0]).toMatchObject({
      kind: "ConfigMap",
      name: "netmap-probe",
      uid: "u1",
      controller: true,
    });
    const pod = ds.spec?.template.spec;
    expect(pod?.tolerations).toEqual([{ operator: "Exists" }]);
    expect(pod?.hostNetwork).toBe(true);
    expect(pod?.hostPID).toBe(true);
    expect(pod?.containers[0]?.command?.slice(0, 3)).toEqual([
      "node",
      "--max-semi-space-size=2",
      "operator/probe/dist/agent/main.js",
    ]);
    expect(pod?.containers[0]?.securityContext?.capabilities?.add).toEqual([
      "NET_ADMIN",
      "SYS_ADMIN",
      "SYS_PTRACE",
    ]);
  });

  it("changes the template's hash when the configuration changes (the probes roll), not otherwise", () => {
    const a = probeDaemonSet(cm(""), parseProbeConfig("image: netmap:1\n"));
    const b = probeDaemonSet(cm(""), parseProbeConfig("image: netmap:1\n"));
    const c = probeDaemonSet(cm(""), parseProbeConfig("image: netmap:2\n"));
    const hash = (d: typeof a) => d.spec?.template.metadata?.annotations?.[CONFIG_HASH];
    expect(hash(a)).toBe(hash(b));
    expect(hash(a)).not.toBe(hash(c));
  });
});
