import { describe, expect, it } from "vitest";
import { ProbeConfigError, parseProbeConfig } from "./config.js";
import { CONFIG_HASH, probeDaemonSet, probeSecurityContext } from "./daemonset.js";

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

  it("runs the probe as root with only its capabilities, a read-only root filesystem and seccomp RuntimeDefault", () => {
    const cfg = parseProbeConfig("image: netmap:dev\n");
    expect(probeSecurityContext(cfg)).toEqual({
      runAsUser: 0,
      runAsGroup: 0,
      readOnlyRootFilesystem: true,
      seccompProfile: { type: "RuntimeDefault" },
      privileged: false,
      allowPrivilegeEscalation: false,
      capabilities: { add: ["NET_ADMIN", "SYS_ADMIN", "SYS_PTRACE"], drop: ["ALL"] },
    });
    const pod = probeDaemonSet(cm(""), cfg).spec?.template.spec;
    expect(pod?.automountServiceAccountToken).toBe(true);
    expect(pod?.imagePullSecrets).toBeUndefined();
  });

  it("offers a privileged profile (no allowPrivilegeEscalation: false, which the API server refuses with privileged)", () => {
    const sc = probeSecurityContext(
      parseProbeConfig("image: netmap:dev\nprivileged: true\nseccompProfile: Unconfined\n"),
    );
    expect(sc).toEqual({
      runAsUser: 0,
      runAsGroup: 0,
      readOnlyRootFilesystem: true,
      seccompProfile: { type: "Unconfined" },
      privileged: true,
    });
  });

  it("takes pull secrets, pod annotations and the roll-out pace from the configuration", () => {
    const text =
      'image: netmap:dev\nimagePullSecrets: [regcred]\npodAnnotations: {a: "b"}\nmaxUnavailable: 2\n';
    const ds = probeDaemonSet(cm(text), parseProbeConfig(text));
    expect(ds.spec?.template.spec?.imagePullSecrets).toEqual([{ name: "regcred" }]);
    expect(ds.spec?.template.metadata?.annotations?.a).toBe("b");
    expect(ds.spec?.updateStrategy?.rollingUpdate?.maxUnavailable).toBe(2);
  });

  it("refuses a bad seccomp profile, pull secret or roll-out pace, naming each", () => {
    let err: unknown;
    try {
      parseProbeConfig(
        "image: x\nseccompProfile: Localhost\nimagePullSecrets: [Bad_Name]\nmaxUnavailable: 0\n",
      );
    } catch (e) {
      err = e;
    }
    expect((err as ProbeConfigError).problems).toEqual([
      "seccompProfile must be one of RuntimeDefault, Unconfined",
      "imagePullSecrets must be a list of strings matching /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/",
      'maxUnavailable must be a whole number ≥ 1 or a percentage such as "10%"',
    ]);
  });
});
