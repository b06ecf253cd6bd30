import { describe, expect, it } from "vitest";
import type { Io } from "../cli/io.js";
import { chooseOutput } from "./output.js";

function io(opts: { tty: boolean; env?: NodeJS.ProcessEnv }): Io {
  const stream = { isTTY: opts.tty, columns: 100, write: () => true };
  return {
    stdout: stream as unknown as Io["stdout"],
    stderr: stream as unknown as Io["stderr"],
    stdin: { isTTY: opts.tty } as Io["stdin"],
    env: { TERM: "xterm-256color", ...opts.env },
  };
}

describe("chooseOutput", () => {
  it("shows the TUI on an interactive terminal", () => {
    expect(chooseOutput(undefined, io({ tty: true }))).toBe("tui");
  });

  it("prints text when stdout is not a terminal", () => {
    expect(chooseOutput(undefined, io({ tty: false }))).toBe("text");
    expect(chooseOutput("tui", io({ tty: false }))).toBe("text");
  });

  it("stays headless in CI even with a pseudo-terminal (CI or CONTINUOUS_INTEGRATION set)", () => {
    expect(chooseOutput(undefined, io({ tty: true, env: { CI: "true" } }))).toBe("text");
    expect(chooseOutput(undefined, io({ tty: true, env: { CONTINUOUS_INTEGRATION: "1" } }))).toBe("text");
  });

  it("treats CI=false and CI=0 as not in CI", () => {
    expect(chooseOutput(undefined, io({ tty: true, env: { CI: "false" } }))).toBe("tui");
    expect(chooseOutput(undefined, io({ tty: true, env: { CI: "0" } }))).toBe("tui");
  });

  it("prints text on a dumb terminal, and always what -o asks for otherwise", () => {
    expect(chooseOutput(undefined, io({ tty: true, env: { TERM: "dumb" } }))).toBe("text");
    expect(chooseOutput("json", io({ tty: true }))).toBe("json");
  });
});
