/**
 * Shell completion. `__complete <words…>` answers from the commander tree itself (subcommands,
 * flags, a flag's `.choices()`), in cobra's format (one candidate a line, then `:<directive>`), so
 * the bash/zsh/fish scripts stay thin and kubectl's own plugin completion
 * (`kubectl_complete-netmap`, kubectl ≥ 1.26) can call it too.
 */
import type { Command, Option } from "commander";

/** Cobra's ShellCompDirective values used here. */
const DEFAULT = 0;
const NO_FILE = 4;

function visibleOptions(cmd: Command): readonly Option[] {
  return cmd.options.filter((o) => !o.hidden);
}

function findOption(cmd: Command, flag: string): Option | undefined {
  return cmd.options.find((o) => o.long === flag || o.short === flag);
}

/** The completion candidates for `words` (arguments after the program; the last is being typed). */
export function complete(program: Command, words: string[]): { candidates: string[]; directive: number } {
  const current = words.at(-1) ?? "";
  const before = words.slice(0, -1);
  let cmd = program;
  let operands = 0;
  for (let i = 0; i < before.length; i++) {
    const w = before[i] as string;
    if (w.startsWith("-")) {
      const opt = findOption(cmd, w.split("=")[0] as string);
      if (opt && (opt.required || opt.optional) && !w.includes("=")) i++;
      continue;
    }
    const sub =
      operands === 0 ? cmd.commands.find((c) => c.name() === w || c.aliases().includes(w)) : undefined;
    if (sub) cmd = sub;
    else operands++;
  }
  const prev = before.at(-1);
  const prevOpt = prev?.startsWith("-") ? findOption(cmd, prev) : undefined;
  if (prevOpt && (prevOpt.required || prevOpt.optional)) {
    const choices = prevOpt.argChoices ?? [];
    return choices.length > 0
      ? { candidates: choices.filter((c) => c.startsWith(current)), directive: NO_FILE }
      : { candidates: [], directive: DEFAULT };
  }
  if (current.startsWith("-")) {
    const flags = visibleOptions(cmd).flatMap((o) =>
      [o.long, o.short].filter((f): f is string => f !== undefined),
    );
    return { candidates: [...flags, "--help"].filter((f) => f.startsWith(current)), directive: NO_FILE };
  }
  if (cmd === program && operands === 0) {
    const subs = program.commands.filter((c) => !c.name().startsWith("_")).map((c) => c.name());
    return { candidates: subs.filter((s) => s.startsWith(current)), directive: DEFAULT };
  }
  return { candidates: [], directive: DEFAULT };
}

/** Cobra-format output of {@link complete}. */
export function completeOutput(program: Command, words: string[]): string {
  const { candidates, directive } = complete(program, words);
  return `${[...candidates, `:${directive}`].join("\n")}\n`;
}

/** The shells `completion` supports. */
export const SHELLS = ["bash", "zsh", "fish"] as const;

/** The completion script for `shell`, for the executable `bin` (kubectl-netmap). */
export function completionScript(shell: (typeof SHELLS)[number], bin = "kubectl-netmap"): string {
  const fn = `_${bin.replace(/[^A-Za-z0-9]/g, "_")}`;
  switch (shell) {
    case "bash":
      return `# bash completion for ${bin}; load with: source <(${bin} completion bash)
${fn}() {
  local cur=\${COMP_WORDS[COMP_CWORD]} directive
  local -a lines
  mapfile -t lines < <(${bin} __complete "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null)
  directive=\${lines[-1]#:}
  unset 'lines[-1]'
  COMPREPLY=($(compgen -W "\${lines[*]}" -- "$cur"))
  if [[ \${#COMPREPLY[@]} -eq 0 && $directive != ${NO_FILE} ]]; then
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -F ${fn} ${bin}
`;
    case "zsh":
      return `#compdef ${bin}
# zsh completion for ${bin}; load with: source <(${bin} completion zsh)
${fn}() {
  local -a lines
  lines=("\${(@f)$(${bin} __complete "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  local directive=\${lines[-1]#:}
  lines=("\${(@)lines[1,-2]}")
  if (( \${#lines} )); then
    compadd -- "\${lines[@]}"
  elif [[ $directive != ${NO_FILE} ]]; then
    _files
  fi
}
compdef ${fn} ${bin}
`;
    case "fish":
      return `# fish completion for ${bin}; load with: ${bin} completion fish | source
function __${fn}_complete
    set -l args (commandline -opc)[2..-1] (commandline -ct)
    set -l lines (${bin} __complete $args 2>/dev/null)
    for l in $lines[1..-2]
        echo $l
    end
end
complete -c ${bin} -a '(__${fn}_complete)'
`;
  }
}
