/**
 * Mini-batches over a dataset into preallocated buffers: no allocation per batch. Each epoch's
 * order is a permutation seeded by `rng.fork(epoch)`, so epoch e has the same order whatever ran before.
 */
import { endianness } from "node:os";
import type { Rng } from "../rng.ts";
import type { Dataset } from "./dataset.ts";

/** How labels are written: class indices as int32 or int64 (ONNX SoftmaxCrossEntropyLoss), or one-hot float32 rows. */
export type LabelFormat = "int32" | "int64" | "onehot";

/** The label buffer type for a format. */
export type LabelBuffer<F extends LabelFormat> = F extends "int32"
  ? Int32Array
  : F extends "int64"
    ? BigInt64Array
    : Float32Array;

/**
 * One batch. `x` [size, features] and `y` ([size] or [size, classes]) are views of buffers reused
 * by the next batch: consume (or copy) them before advancing.
 */
export interface Batch<F extends LabelFormat> {
  x: Float32Array;
  y: LabelBuffer<F>;
  /** Rows in this batch (batchSize, or fewer for a kept last partial batch). */
  size: number;
  /** 0-based batch index within the epoch. */
  index: number;
}

/** Options of `BatchIterator`. */
export interface BatchOptions<F extends LabelFormat> {
  readonly batchSize: number;
  /** Seeded per-epoch shuffle, or false for dataset order. */
  readonly shuffle: Rng | false;
  /** A last batch smaller than batchSize is dropped or kept (then `size` is smaller and views shorter). */
  readonly lastBatch: "drop" | "keep";
  readonly labels: F;
}

function labelBuffer<F extends LabelFormat>(format: F, rows: number, classes: number): LabelBuffer<F> {
  switch (format) {
    case "int32":
      return new Int32Array(rows) as LabelBuffer<F>;
    case "int64":
      return new BigInt64Array(rows) as LabelBuffer<F>;
    case "onehot":
      return new Float32Array(rows * classes) as LabelBuffer<F>;
    default:
      throw new Error(`BatchIterator: labels must be "int32", "int64" or "onehot", got ${String(format)}`);
  }
}

/** Iterates a dataset in mini-batches, epoch by epoch. */
export class BatchIterator<F extends LabelFormat> {
  /** Batches produced by each epoch. */
  readonly batchesPerEpoch: number;
  private readonly ds: Dataset;
  private readonly batchSize: number;
  private readonly shuffle: Rng | false;
  private readonly format: F;
  private readonly order: Int32Array;
  private readonly full: { x: Float32Array; y: LabelBuffer<F> };
  private readonly partial: { x: Float32Array; y: LabelBuffer<F>; size: number } | undefined;
  /** int32 view over the label buffer (the low words of int64 labels, little-endian). */
  private readonly yWords: Int32Array | undefined;

  constructor(ds: Dataset, options: BatchOptions<F>) {
    const { batchSize, lastBatch } = options;
    if (!Number.isInteger(batchSize) || batchSize <= 0) {
      throw new Error(`BatchIterator: batchSize must be an integer > 0, got ${batchSize}`);
    }
    if (lastBatch !== "drop" && lastBatch !== "keep") {
      throw new Error(`BatchIterator: lastBatch must be "drop" or "keep", got ${String(lastBatch)}`);
    }
    const whole = Math.floor(ds.n / batchSize);
    const rest = ds.n % batchSize;
    this.batchesPerEpoch = whole + (lastBatch === "keep" && rest > 0 ? 1 : 0);
    if (this.batchesPerEpoch === 0) {
      throw new Error(
        `BatchIterator: dataset "${ds.name}" has ${ds.n} rows, no batch of ${batchSize} (lastBatch "${lastBatch}")`,
      );
    }
    if (options.labels === "int64" && endianness() !== "LE") {
      throw new Error("BatchIterator: int64 labels are only supported on little-endian hosts");
    }
    this.ds = ds;
    this.batchSize = batchSize;
    this.shuffle = options.shuffle;
    this.format = options.labels;
    this.order = new Int32Array(ds.n);
    const y = labelBuffer(options.labels, batchSize, ds.classes);
    this.full = { x: new Float32Array(batchSize * ds.features), y };
    this.yWords =
      y instanceof Int32Array
        ? y
        : y instanceof BigInt64Array
          ? new Int32Array(y.buffer, 0, 2 * batchSize)
          : undefined;
    this.partial =
      lastBatch === "keep" && rest > 0
        ? {
            x: this.full.x.subarray(0, rest * ds.features),
            y: y.subarray(0, options.labels === "onehot" ? rest * ds.classes : rest) as LabelBuffer<F>,
            size: rest,
          }
        : undefined;
  }

  /**
   * The batches of epoch `epoch` (an integer >= 0). The returned iterator and its results are
   * reused objects; only one epoch iterator should be active at a time.
   */
  epoch(epoch: number): IterableIterator<Batch<F>> {
    if (!Number.isInteger(epoch) || epoch < 0)
      throw new Error(`BatchIterator: epoch must be an integer >= 0`);
    const order = this.order;
    for (let i = 0; i < order.length; i++) order[i] = i;
    if (this.shuffle !== false) this.shuffle.fork(epoch).shuffleTyped(order);
    const batch: Batch<F> = { x: this.full.x, y: this.full.y, size: 0, index: -1 };
    const result: IteratorYieldResult<Batch<F>> = { done: false, value: batch };
    const done: IteratorReturnResult<undefined> = { done: true, value: undefined };
    const iterator: IterableIterator<Batch<F>> = {
      next: () => {
        const index = batch.index + 1;
        if (index >= this.batchesPerEpoch) return done;
        this.fill(batch, index);
        return result;
      },
      [Symbol.iterator]: () => iterator,
    };
    return iterator;
  }

  private fill(batch: Batch<F>, index: number): void {
    const start = index * this.batchSize;
    const last = this.partial !== undefined && index === this.batchesPerEpoch - 1;
    const target = last && this.partial !== undefined ? this.partial : this.full;
    const size = last && this.partial !== undefined ? this.partial.size : this.batchSize;
    const { x: src, y: labels, features, classes } = this.ds;
    const x = this.full.x;
    const order = this.order;
    for (let r = 0; r < size; r++) {
      const i = order[start + r] as number;
      const from = i * features;
      const to = r * features;
      for (let k = 0; k < features; k++) x[to + k] = src[from + k] as number;
    }
    if (this.format === "onehot") {
      const y = this.full.y as Float32Array;
      y.fill(0, 0, size * classes);
      for (let r = 0; r < size; r++) y[r * classes + (labels[order[start + r] as number] as number)] = 1;
    } else {
      const words = this.yWords as Int32Array;
      const stride = this.format === "int64" ? 2 : 1;
      for (let r = 0; r < size; r++) {
        words[r * stride] = labels[order[start + r] as number] as number;
        if (stride === 2) words[r * stride + 1] = 0;
      }
    }
    batch.x = target.x;
    batch.y = target.y;
    batch.size = size;
    batch.index = index;
  }
}
