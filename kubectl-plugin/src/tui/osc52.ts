/** Copying to the clipboard through the terminal (OSC 52), where the terminal is known to allow it. */

/** True when the terminal is likely to honour OSC 52; NETMAP_OSC52=1/0 overrides the guess. */
export function supportsOsc52(env: NodeJS.ProcessEnv): boolean {
  if (env.NETMAP_OSC52 === "1") return true;
  if (env.NETMAP_OSC52 === "0") return false;
  const term = env.TERM ?? "";
  const program = env.TERM_PROGRAM ?? "";
  if (env.TMUX) return false; // tmux drops it unless set-clipboard is on; print instead.
  return (
    /kitty|alacritty|foot|wezterm|ghostty|contour/.test(term) ||
    ["iTerm.app", "WezTerm", "ghostty", "vscode", "WarpTerminal"].includes(program) ||
    env.KONSOLE_VERSION !== undefined
  );
}

/** The escape sequence that puts `text` on the system clipboard. */
export function osc52(text: string): string {
  return `\u001b]52;c;${Buffer.from(text, "utf8").toString("base64")}\u0007`;
}
