import { describe, expect, it } from "vitest";
import { toolEnv, toolSearchPath } from "./tool-env.js";

describe("toolSearchPath", () => {
  it("keeps the caller's PATH first and adds the sbin directories it lacks", () => {
    expect(toolSearchPath("/opt/bin:/usr/bin:/bin")).toBe(
      "/opt/bin:/usr/bin:/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/sbin",
    );
  });

  it("gives the system directories to an empty or missing PATH", () => {
    expect(toolSearchPath(undefined)).toBe("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    expect(toolSearchPath("")).toBe(toolSearchPath(undefined));
  });

  it("adds nothing to a PATH that has them all", () => {
    const full = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    expect(toolSearchPath(full)).toBe(full);
  });
});

describe("toolEnv", () => {
  it("runs tools in the C locale with the full search path, keeping the rest of the environment", () => {
    expect(toolEnv({ PATH: "/usr/bin", HOME: "/root", LC_ALL: "de_DE.UTF-8" })).toEqual({
      PATH: "/usr/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/sbin:/bin",
      HOME: "/root",
      LC_ALL: "C",
    });
  });
});
