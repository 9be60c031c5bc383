import { describe, expect, it } from "vitest";
import { captureCommand } from "../../test/command-output.ts";
import { main } from "../main.ts";

const run = (args: readonly string[]): Promise<number> => main(["soak", "actor", ...args]);

const capture = (args: string[]) => captureCommand(run, args);

describe("esper soak actor", () => {
  it("starts its own nats-server, prints JSON with ok true and exits 0 on a clean run", async () => {
    const { code, out } = await capture(["--cycles", "2", "--json"]);
    const report = JSON.parse(out) as { ok: boolean; command: string; outcomes: { cyclesDrained: number } };
    expect(report).toMatchObject({ command: "soak actor", ok: true, outcomes: { cyclesDrained: 2 } });
    expect(code).toBe(0);
  });

  it("prints ok false and exits 1 when a leak is planted", async () => {
    const { code, out } = await capture(["--cycles", "2", "--plant", "unref-timer", "--json"]);
    expect(JSON.parse(out)).toMatchObject({ ok: false, plant: "unref-timer", leakedUnrefTimers: 2 });
    expect(code).toBe(1);
  });

  it("refuses an unknown plant kind with exit 2, naming the kinds", async () => {
    const { code, err } = await capture(["--plant", "gremlin"]);
    expect(code).toBe(2);
    expect(err).toContain(
      "error: option '--plant <kind>' argument 'gremlin' is invalid. Allowed choices are timer, unref-timer, heap, unsettled.",
    );
  });
});
