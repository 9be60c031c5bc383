import { describe, expect, it } from "vitest";
import { emptyRunMemory, observePacket, recordGermination } from "./run-memory.ts";
import { packet } from "./testing/fixtures.ts";

const losses = (m: { losses: readonly { epoch: number; loss: number }[] }) =>
  m.losses.map((l) => [l.epoch, l.loss]);

describe("run memory", () => {
  it("appends one validation loss per epoch", () => {
    let m = emptyRunMemory("run-a");
    m = observePacket(m, packet(0, 1.0, []));
    m = observePacket(m, packet(1, 0.9, []));
    expect(losses(m)).toEqual([
      [0, 1.0],
      [1, 0.9],
    ]);
  });

  it("is idempotent for a redelivered packet and forgets epochs undone by a rollback", () => {
    let m = emptyRunMemory("run-a");
    for (const [e, l] of [
      [0, 1.0],
      [1, 0.9],
      [2, 0.8],
    ] as const)
      m = observePacket(m, packet(e, l, []));
    expect(losses(observePacket(m, packet(2, 0.8, [])))).toEqual(losses(m));
    expect(losses(observePacket(m, packet(1, 0.95, [])))).toEqual([
      [0, 1.0],
      [1, 0.95],
    ]);
  });

  it("refuses a packet of another run, naming its id", () => {
    const other = { ...packet(0, 1, []), trainingRunId: "run-b" };
    expect(() => observePacket(emptyRunMemory("run-a"), other)).toThrow(/trainingRun id 'run-b'/);
  });

  it("a germination restarts the loss window at its epoch", () => {
    let m = emptyRunMemory("run-a");
    for (let e = 0; e < 4; e++) m = observePacket(m, packet(e, 1, []));
    const g = { epoch: 2, seedId: "seed-a", blueprintId: "bp" };
    m = recordGermination(m, g);
    expect(m.lastGermination).toEqual(g);
    expect(losses(m)).toEqual([
      [2, 1],
      [3, 1],
    ]);
  });
});
