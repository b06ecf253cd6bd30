/**
 * `@netmap/probe/kube`: the small Kubernetes client the probe and kubectl-netmap share (node:https,
 * no @kubernetes/client-node, which costs ~110 MB RSS to load), and kubeconfig loading as kubectl
 * does it. A subpath of its own so that kubectl-netmap loads this without the collectors.
 */
export {
  ApiError,
  type ApiErrorDetails,
  inClusterTarget,
  KubeClient,
  type KubeTarget,
  kubeconfigTarget,
  type WatchEvent,
} from "../agent/kube-client.js";
export {
  type ExecClusterInfo,
  type ExecConfig,
  type ExecCredential,
  execCommandPath,
  execInteractive,
  KubeconfigError,
  parseExecCredential,
  runExecPlugin,
} from "./exec-credential.js";
export {
  connectionFor,
  type KubeConnection,
  type KubeconfigOptions,
  kubeconfigFiles,
  loadKubeconfig,
  type MergedKubeconfig,
  mergeKubeconfigs,
  parseKubeconfig,
} from "./kubeconfig.js";
