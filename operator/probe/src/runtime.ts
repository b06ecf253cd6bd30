/**
 * How the probe's node process runs. The probe reads a node's netfilter state in bursts (a listing
 * indexed in 1 MiB chunks, chains decoded as a walk asks) and keeps little: V8's default young
 * generation (16 MiB semi-spaces, sized for throughput) is most of its peak RSS. Two MiB
 * semi-spaces keep the peak near what is live, and on the 10k-Service benchmark they were faster
 * too (fewer pages touched): indexing and parsing a 50 MB kube-proxy table from its file peaked at
 * 140 MB in 1.07 s with the defaults, 95 MB in 0.66 s with these flags (e2e/bench/README.md).
 *
 * The benchmark runs its probe phases with them; the probe's container command (the operator's
 * DaemonSet) must pass them too.
 */
export const PROBE_NODE_FLAGS: readonly string[] = ["--max-semi-space-size=2"];
