/**
 * What the TraceView does for a key event. A terminal hands over whatever it has in one read: a
 * held key on a slow terminal, a paste or `tmux send-keys -l kkk` arrive as one input "kkk", which
 * Ink passes on whole (it splits only at escape sequences). Each character is a key press.
 */
import type { Key } from "ink";

/** One thing the TraceView does. */
export type KeyAction = "quit" | "down" | "up" | "first" | "last" | "toggle" | "copy";

function ofChar(c: string): KeyAction | undefined {
  switch (c) {
    case "q":
      return "quit";
    case "j":
      return "down";
    case "k":
      return "up";
    case "g":
      return "first";
    case "G":
      return "last";
    case "\r":
    case "\n":
    case " ":
      return "toggle";
    case "c":
      return "copy";
    default:
      return undefined;
  }
}

/** The actions of one input event, in the order the keys were pressed. */
export function keyActions(input: string, key: Key): KeyAction[] {
  if (key.escape) return ["quit"];
  if (key.downArrow) return ["down"];
  if (key.upArrow) return ["up"];
  if (key.home) return ["first"];
  if (key.end) return ["last"];
  if (key.return) return ["toggle"];
  const actions: KeyAction[] = [];
  for (const c of input) {
    const action = ofChar(c);
    if (action) actions.push(action);
    if (action === "quit") break;
  }
  return actions;
}
