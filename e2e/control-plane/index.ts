export { type ClientCert, makeClientCert, makePki, type Pki } from "./certs.js";
export {
  type ControlPlane,
  type ControlPlaneOptions,
  type ControlPlaneTools,
  type KubectlOptions,
  startControlPlane,
  type TokenSpec,
} from "./control-plane.js";
export { type CelRule, type Crd, celRules, minimalObject, minimalValue, readCrds } from "./crd.js";
export { CommandError, execCommand, execOk } from "./exec.js";
export { type Logger, stderrLogger } from "./log.js";
export { CONTROL_PLANE_TOOLS, ensureTools, goToolsScript, type ToolName, type ToolPaths } from "./tools.js";
