import { ApiError } from "@netmap/probe/kube";
import { describe, expect, it } from "vitest";
import { ExitCode } from "../cli/errors.js";
import { explainApiError, isConnectionError, NETWORK_TRACES, unreachable } from "./errors.js";

const where = { server: "https://10.0.0.1:6443", context: "prod", user: "alice" };
const create = { verb: "create", resource: NETWORK_TRACES, namespace: "shop" } as const;

/** An ApiError as the shared client builds it from a Status body. */
function status(code: number, reason: string, message: string, details?: Record<string, string>): ApiError {
  return new ApiError(code, `HTTP ${code}: ${message}`, {
    reason,
    serverMessage: message,
    ...(details ? { details } : {}),
  });
}

describe("API errors, said as what to do", () => {
  it("names the verb and resource refused (403), and the kubectl auth can-i that checks it", () => {
    const e = explainApiError(
      status(
        403,
        "Forbidden",
        'networktraces.netmap.io is forbidden: User "alice" cannot create resource "networktraces" in API group "netmap.io" in the namespace "shop"',
        { group: "netmap.io", kind: "networktraces" },
      ),
      create,
      where,
    );
    expect(e.exitCode).toBe(ExitCode.traceFailed);
    expect(e.message).toMatch(
      /^you may not create networktraces\.netmap\.io in namespace shop: networktraces/,
    );
    expect(e.hint).toContain("kubectl --context prod auth can-i create networktraces.netmap.io -n shop");
    expect(e.hint).toContain("create, get, watch and delete on networktraces.netmap.io");
  });

  it("tells a missing CRD (404 for the resource) from a missing object or namespace", () => {
    const crd = explainApiError(new ApiError(404, "HTTP 404: 404 page not found"), create, where);
    expect(crd.message).toMatch(
      /the NetworkTrace API \(networktraces\.netmap\.io\/v1alpha1\) is not installed/,
    );
    expect(crd.hint).toMatch(/helm install netmap charts\/netmap/);
    expect(crd.hint).toContain("kubectl --context prod get crd networktraces.netmap.io");
    const ns = explainApiError(
      status(404, "NotFound", 'namespaces "shop" not found', { name: "shop", kind: "namespaces" }),
      create,
      where,
    );
    expect(ns.message).toBe("namespace shop does not exist");
    expect(ns.exitCode).toBe(ExitCode.usage);
  });

  it("says when the credentials are refused (401) and when the request is invalid (422, CEL)", () => {
    const e = explainApiError(status(401, "Unauthorized", "Unauthorized"), create, where);
    expect(e.message).toBe(
      'the API server at https://10.0.0.1:6443 did not accept the credentials of user "alice" (context prod): Unauthorized',
    );
    const cel = explainApiError(
      status(422, "Invalid", 'NetworkTrace.netmap.io "x" is invalid: spec: Invalid value: port is required'),
      create,
      where,
    );
    expect(cel.exitCode).toBe(ExitCode.usage);
    expect(cel.message).toMatch(/refused the NetworkTrace: .*port is required/);
  });

  it("says the API server cannot be reached, or is not trusted, and how to check", () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED 10.0.0.1:6443"), { code: "ECONNREFUSED" });
    expect(isConnectionError(refused)).toBe(true);
    const e = explainApiError(refused, create, where);
    expect(e.message).toBe(
      "cannot reach the API server at https://10.0.0.1:6443: connect ECONNREFUSED 10.0.0.1:6443",
    );
    expect(e.hint).toContain("kubectl --context prod get --raw /readyz");
    const proxied = unreachable(refused, where, { HTTPS_PROXY: "http://proxy:3128" });
    expect(proxied.hint).toMatch(/HTTPS_PROXY is set/);
    const tls = Object.assign(new Error("self-signed certificate"), { code: "DEPTH_ZERO_SELF_SIGNED_CERT" });
    expect(isConnectionError(tls)).toBe(false);
    expect(explainApiError(tls, create, where).message).toMatch(
      /presented a certificate that is not trusted/,
    );
    expect(isConnectionError(status(503, "ServiceUnavailable", "etcd"))).toBe(true);
    expect(isConnectionError(status(429, "TooManyRequests", "storage is (re)initializing"))).toBe(true);
    expect(isConnectionError(status(403, "Forbidden", "no"))).toBe(false);
  });
});
