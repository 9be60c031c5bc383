import { afterEach, describe, expect, it, vi } from "vitest";
import { commands } from "./commands.ts";
import { main } from "./main.ts";

function capture() {
  const out = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
  const err = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
  return { out: () => out.mock.calls.join(""), err: () => err.mock.calls.join("") };
}

afterEach(() => vi.restoreAllMocks());

const names = Object.keys(commands);

/** The required options of some commands (commander checks them before unknown flags). */
const required: Readonly<Record<string, readonly string[]>> = {
  "policy fit": ["--recording", "r.esperrec", "--out", "dir"],
  "recording trim": ["in", "out", "--subject", "x"],
  record: ["--subjects", "x", "--out", "o"],
  "export stream": ["s", "--out", "o"],
};

describe("esper dispatch", () => {
  it.each([[["--help"]], [["-h"]], [["help"]]])(
    "lists every command and group on %j, exit 0",
    async (argv) => {
      const io = capture();
      expect(await main(argv)).toBe(0);
      expect(io.out()).toMatch(/^Usage: esper /);
      expect(io.out()).toMatch(/^ {2}up +run one training job[\s\S]*^ {2}bench +benchmarks.*: train-step, /m);
    },
  );

  it("answers no command at all with the list on stderr, exit 2", async () => {
    const io = capture();
    expect(await main([])).toBe(2);
    expect(io.err()).toMatch(/^ {2}up +run one training job/m);
  });

  it.each([[["bench", "-h"]], [["bench", "--help"]], [["help", "bench"]]])(
    "lists a group's commands on %j",
    async (argv) => {
      const io = capture();
      expect(await main(argv)).toBe(0);
      expect(io.out()).toMatch(/^Usage: esper bench /);
      expect(io.out()).toMatch(/^ {2}loop +esper up on a job/m);
      expect(io.out()).not.toMatch(/^ {2}up /m);
    },
  );

  it("refuses an unknown command with exit 2 and commander's message", async () => {
    const io = capture();
    expect(await main(["bench", "nothing"])).toBe(2);
    expect(io.err()).toContain("error: unknown command 'nothing'");
    expect(await main(["frobnicate"])).toBe(2);
    expect(io.err()).toContain("error: unknown command 'frobnicate'");
  });

  it("loads only the module of the command it runs", async () => {
    const loads = names.map(
      (name) => [name, vi.spyOn(commands[name] as { load(): unknown }, "load")] as const,
    );
    capture();
    expect(await main(["status", "-h"])).toBe(0);
    expect(loads.filter(([, spy]) => spy.mock.calls.length > 0).map(([name]) => name)).toEqual(["status"]);
  });
});

describe.each(names)("esper %s", (name) => {
  const words = name.split(" ");

  it("answers -h and help with its usage, exit 0", async () => {
    const io = capture();
    expect(await main([...words, "-h"])).toBe(0);
    expect(await main(["help", ...words])).toBe(0);
    const out = io.out();
    expect(out).toContain(`Usage: esper ${name} `);
    expect(out).toContain("Exit codes:");
    expect(io.err()).toBe("");
  });

  it("refuses an unknown flag with exit 2", async () => {
    const io = capture();
    expect(await main([...words, ...(required[name] ?? []), "--no-such-flag"])).toBe(2);
    expect(io.err()).toContain("error: unknown option '--no-such-flag'");
    expect(io.out()).toBe("");
  });
});

describe("integer flags", () => {
  it.each([
    [["bench", "codec", "--iterations", "12.5"], "--iterations <n>", "Must be an integer >= 100"],
    [["bench", "bus", "--rounds", "0"], "--rounds <n>", "Must be an integer >= 1"],
    [["soak", "worker", "--iterations", "1"], "--iterations <n>", "Must be an integer >= 2"],
    [["soak", "actor", "--cycles", "x"], "--cycles <n>", "Must be an integer >= 2"],
    [["health", "urza", "--timeout", "0"], "--timeout <ms>", "Must be an integer >= 1 (milliseconds)"],
    [["up", "--http", "70000"], "--http <port>", "Must be an integer 0-65535"],
    [["actor", "weatherlight", "--http", "-1"], "--http <port>", "Must be an integer 0-65535"],
    [["policy", "fit", "--recording", "r", "--out", "o", "--seed", "-1"], "--seed <n>", ">= 0"],
    [["command", "--run", "r", "--cull", "s1-g0", "--freshness", "3600001"], "--freshness <ms>", "1-3600000"],
    [["emergency", "halt", "--run", "r", "--wait-timeout", "1e3"], "--wait-timeout <ms>", "1-600000"],
    [["settings", "set", "a=1", "--expect-revision", "x"], "--expect-revision <n>", ">= 0"],
    [["replay", "f.esperrec", "--requests", "--request-timeout-ms", "0"], "--request-timeout-ms <n>", ">= 1"],
  ])("%j is a usage error (exit 2) naming the flag", async (argv, flag, rule) => {
    const io = capture();
    expect(await main(argv)).toBe(2);
    expect(io.err()).toContain(`error: option '${flag}' argument '`);
    expect(io.err()).toContain(rule);
  });
});
