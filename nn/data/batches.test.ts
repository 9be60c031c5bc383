import { describe, expect, it } from "vitest";
import { createRng } from "../rng.ts";
import { BatchIterator } from "./batches.ts";
import type { Dataset } from "./dataset.ts";

/** Row i has features [i, -i, 0.5] and label i mod 3. */
function rows(n: number): Dataset {
  const x = new Float32Array(n * 3);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    x.set([i, -i, 0.5], i * 3);
    y[i] = i % 3;
  }
  return { name: "rows", x, y, n, features: 3, classes: 3 };
}

describe("BatchIterator", () => {
  it("keeps a last partial batch with shorter views, reusing the same buffers", () => {
    const it10 = new BatchIterator(rows(10), {
      batchSize: 4,
      shuffle: false,
      lastBatch: "keep",
      labels: "int32",
    });
    expect(it10.batchesPerEpoch).toBe(3);
    const seen: number[][] = [];
    const buffers = new Set<ArrayBuffer>();
    for (const b of it10.epoch(0)) {
      expect(b.x.length).toBe(b.size * 3);
      expect(b.y.length).toBe(b.size);
      buffers.add(b.x.buffer as ArrayBuffer);
      seen.push(Array.from({ length: b.size }, (_, r) => b.x[r * 3] as number));
      for (let r = 0; r < b.size; r++) expect(b.y[r]).toBe((b.x[r * 3] as number) % 3);
    }
    expect(seen).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9],
    ]);
    expect(buffers.size).toBe(1);
  });

  it("drops a last partial batch when asked, and refuses a dataset with no full batch", () => {
    const d = rows(10);
    const it = new BatchIterator(d, { batchSize: 4, shuffle: false, lastBatch: "drop", labels: "int32" });
    expect([...it.epoch(0)].length).toBe(2);
    expect(
      () => new BatchIterator(d, { batchSize: 11, shuffle: false, lastBatch: "drop", labels: "int32" }),
    ).toThrow('dataset "rows" has 10 rows, no batch of 11');
  });

  it("shuffles each epoch by seed: same epoch same order, different epochs differ, every row once", () => {
    const d = rows(50);
    const order = (seed: number, epoch: number) => {
      const it = new BatchIterator(d, {
        batchSize: 8,
        shuffle: createRng(seed),
        lastBatch: "keep",
        labels: "int32",
      });
      const out: number[] = [];
      for (const b of it.epoch(epoch)) for (let r = 0; r < b.size; r++) out.push(b.x[r * 3] as number);
      return out;
    };
    const e0 = order(1, 0);
    expect(order(1, 0)).toEqual(e0);
    expect(order(1, 1)).not.toEqual(e0);
    expect(order(2, 0)).not.toEqual(e0);
    expect([...e0].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    const it = new BatchIterator(d, {
      batchSize: 8,
      shuffle: createRng(1),
      lastBatch: "keep",
      labels: "int32",
    });
    for (const _ of it.epoch(5));
    const again: number[] = [];
    for (const b of it.epoch(0)) for (let r = 0; r < b.size; r++) again.push(b.x[r * 3] as number);
    expect(again).toEqual(e0);
  });

  it("writes int64 and one-hot labels", () => {
    const d = rows(5);
    const i64 = new BatchIterator(d, { batchSize: 2, shuffle: false, lastBatch: "keep", labels: "int64" });
    const labels: bigint[] = [];
    for (const b of i64.epoch(0)) labels.push(...b.y);
    expect(labels).toEqual([0n, 1n, 2n, 0n, 1n]);
    const hot = new BatchIterator(d, { batchSize: 2, shuffle: false, lastBatch: "keep", labels: "onehot" });
    const first = hot.epoch(0).next();
    expect(first.done).toBe(false);
    if (first.done !== true) expect([...first.value.y]).toEqual([1, 0, 0, 0, 1, 0]);
    let batches = 0;
    for (const b of hot.epoch(0)) {
      batches++;
      if (b.index === 2) {
        expect(b.size).toBe(1);
        expect([...b.y]).toEqual([0, 1, 0]);
      }
    }
    expect(batches).toBe(3);
  });
});
