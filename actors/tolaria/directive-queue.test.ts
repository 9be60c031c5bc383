import { describe, expect, it } from "vitest";
import { SeedLifecycleStage } from "../../contracts/enums.ts";
import { directive } from "./directive-fixture.ts";
import { DirectiveQueue } from "./directive-queue.ts";
import { DirectiveGapError } from "./errors.ts";

const update = (seedId: string, sequence: number) =>
  directive(seedId, sequence, { action: "update", stage: SeedLifecycleStage.SHADOWING });
const seqs = (q: DirectiveQueue) => q.takeReady().map((d) => `${d.seedId}:${d.sequence}`);

describe("DirectiveQueue", () => {
  it("releases each seed's directives in sequence order, whatever the arrival order", () => {
    const q = new DirectiveQueue();
    for (const d of [update("a", 1), update("b", 0), update("a", 0), update("a", 2)])
      expect(q.enqueue(d).status).toBe("queued");
    expect(seqs(q)).toEqual(["a:0", "a:1", "a:2", "b:0"]);
    expect(q.size).toBe(0);
    expect(q.enqueue(update("a", 3)).status).toBe("queued");
    expect(seqs(q)).toEqual(["a:3"]);
  });

  it("skips and reports a duplicate: a sequence applied already, or queued already", () => {
    const q = new DirectiveQueue();
    q.enqueue(update("a", 0));
    q.takeReady();
    expect(q.enqueue(update("a", 0))).toEqual({
      status: "duplicate",
      reason: "seed 'a': sequence 0 was applied already (next is 1)",
    });
    q.enqueue(update("a", 1));
    expect(q.enqueue(update("a", 1))).toEqual({
      status: "duplicate",
      reason: "seed 'a': sequence 1 is queued already",
    });
    expect(q.duplicates).toBe(2);
    expect(seqs(q)).toEqual(["a:1"]);
  });

  it("a gap is a DirectiveGapError naming the seed and the missing sequence; nothing is released", () => {
    const q = new DirectiveQueue();
    q.enqueue(update("b", 0));
    q.enqueue(update("a", 0));
    q.takeReady();
    q.enqueue(update("b", 1));
    q.enqueue(update("a", 2));
    q.enqueue(update("a", 3));
    let error: unknown;
    try {
      q.takeReady();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DirectiveGapError);
    expect(error).toMatchObject({ seedId: "a", missing: 1, queued: [2, 3] });
    expect((error as Error).message).toContain("seed 'a': directive sequence 1 is missing");
    expect(q.size).toBe(3);
    q.enqueue(update("a", 1));
    expect(seqs(q)).toEqual(["b:1", "a:1", "a:2", "a:3"]);
  });
});
