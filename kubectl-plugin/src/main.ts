/**
 * kubectl-netmap's entry point: parse argv, run the command, map errors to exit codes (0 ok, 1
 * usage/input, 2 the trace could not run, 3/4/5 a trace Dropped/Rejected/Unknown, 130
 * interrupted: cli/errors.ts). Never calls process.exit.
 */
import { CommanderError } from "commander";
import { CliError, ExitCode, formatError, isHintedError, VerdictExit } from "./cli/errors.js";
import { type Io, processIo } from "./cli/io.js";
import { buildProgram, type ProgramDeps } from "./cli/program.js";

/** Exit code for a commander error: help and --version are not failures. */
function commanderExit(err: CommanderError): number {
  if (
    err.code === "commander.helpDisplayed" ||
    err.code === "commander.version" ||
    err.code === "commander.help"
  ) {
    return ExitCode.ok;
  }
  return ExitCode.usage;
}

/**
 * Runs kubectl-netmap with `argv` as process.argv has it (node, script, args…).
 * Returns the exit code; output goes to `io` (the process's streams by default).
 */
export async function main(argv: string[], io: Io = processIo(), deps: ProgramDeps = {}): Promise<number> {
  const program = buildProgram(io, deps);
  try {
    await program.parseAsync(argv.slice(2), { from: "user" });
    return ExitCode.ok;
  } catch (err) {
    // commander has already printed its own message (unknown option, invalid choice, …).
    if (err instanceof CommanderError) return commanderExit(err);
    // The trace is printed; its verdict is the exit code, not an error.
    if (err instanceof VerdictExit) return err.exitCode;
    io.stderr.write(formatError(err));
    if (err instanceof CliError) return err.exitCode;
    return isHintedError(err) ? ExitCode.usage : ExitCode.traceFailed;
  }
}
