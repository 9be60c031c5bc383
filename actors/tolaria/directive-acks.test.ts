import { describe, expect, it } from "vitest";
import { SeedLifecycleStage } from "../../contracts/enums.ts";
import { DirectiveAcks } from "./directive-acks.ts";
import { directive } from "./directive-fixture.ts";

const update = (seedId: string, sequence: number) =>
  directive(seedId, sequence, { action: "update", stage: SeedLifecycleStage.TRAINING });

/** Whether `p` has settled after the pending microtasks ran. */
async function settled(p: Promise<void>): Promise<boolean> {
  let done = false;
  p.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  await new Promise((r) => setImmediate(r));
  return done;
}

describe("DirectiveAcks", () => {
  it("holds a directive's wait until its step boundary applied or refused it", async () => {
    const acks = new DirectiveAcks();
    const a = acks.wait(update("s1-g0", 0));
    const b = acks.wait(update("s2-g0", 0));
    expect(await settled(a)).toBe(false);
    acks.settle([update("s1-g0", 1)], []);
    expect(await settled(a)).toBe(false);
    acks.settle([update("s1-g0", 0)], []);
    expect(await settled(a)).toBe(true);
    expect(await settled(b)).toBe(false);
    acks.settle([], [{ directive: update("s2-g0", 0), error: new Error("checksum") }]);
    await expect(b).resolves.toBeUndefined();
    expect(acks.size).toBe(0);
  });

  it("ends every wait with the error given to closeAll", async () => {
    const acks = new DirectiveAcks();
    const a = acks.wait(update("s1-g0", 0));
    acks.closeAll(new Error("training over"));
    await expect(a).rejects.toThrow("training over");
    expect(acks.size).toBe(0);
  });
});
