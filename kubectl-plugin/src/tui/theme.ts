/** Colours of the TUI: by layer, so a glance tells link from netfilter from tunnel. */
import type { HopAction, Layer, Severity, Verdict } from "@netmap/core";

/** An Ink colour name. */
export type Colour =
  | "magenta"
  | "cyan"
  | "blue"
  | "green"
  | "yellow"
  | "yellowBright"
  | "magentaBright"
  | "gray"
  | "red"
  | "redBright"
  | "blueBright"
  | "white";

/** The colour of a layer's primitive column. */
export function layerColour(layer: Layer): Colour {
  switch (layer) {
    case "netns":
      return "magenta";
    case "link":
      return "cyan";
    case "l2":
      return "blue";
    case "l3":
      return "green";
    case "netfilter":
      return "yellow";
    case "ipvs":
      return "yellowBright";
    case "tunnel":
      return "magentaBright";
    case "underlay":
      return "gray";
  }
}

/** Red for the actions that end a packet's way. */
export function actionColour(action: HopAction): Colour | undefined {
  return action === "drop" || action === "reject" ? "red" : undefined;
}

/** Colour of a finding marker. */
export function severityColour(s: Severity): Colour {
  return s === "error" ? "red" : s === "warning" ? "yellow" : "cyan";
}

/** Colour of the verdict line. */
export function verdictColour(v: Verdict): Colour {
  return v === "Delivered" ? "green" : v === "Unknown" ? "yellow" : "red";
}
