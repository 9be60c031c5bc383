import { describe, expect, it } from "vitest";
import { captureCommand } from "../../test/command-output.ts";
import { main } from "../main.ts";

const run = (args: readonly string[]): Promise<number> => main(["soak", "worker", ...args]);

const capture = (args: string[]) => captureCommand(run, args);

const FAST = ["--iterations", "2", "--scenario", "failurePropagation", "--json"];

describe("esper soak worker", () => {
  it("prints JSON with ok true and exits 0 on a clean run", async () => {
    const { code, out } = await capture(FAST);
    expect(JSON.parse(out)).toMatchObject({ command: "soak worker", ok: true, failures: [] });
    expect(code).toBe(0);
  });

  it("prints ok false and exits 1 when a leak is planted", async () => {
    const { code, out } = await capture([...FAST, "--plant", "timer"]);
    expect(JSON.parse(out)).toMatchObject({ ok: false, plant: "timer", failures: ["leakedTimers: 2"] });
    expect(code).toBe(1);
  });

  it("refuses a single iteration with exit 2", async () => {
    const { code, err } = await capture(["--iterations", "1"]);
    expect(code).toBe(2);
    expect(err).toContain(
      "error: option '--iterations <n>' argument '1' is invalid. Must be an integer >= 2.",
    );
  });
});
