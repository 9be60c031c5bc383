import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/** A full garbage collection. */
export type ForceGc = () => void;

/** The global `gc` under --expose-gc, else one enabled at runtime through V8 flags; undefined when neither works. */
export function findGc(): ForceGc | undefined {
  const existing = (globalThis as { gc?: ForceGc }).gc;
  if (typeof existing === "function") return existing;
  try {
    setFlagsFromString("--expose-gc");
    const fn: unknown = runInNewContext("gc");
    return typeof fn === "function" ? (fn as ForceGc) : undefined;
  } catch {
    return undefined;
  }
}

/** `heapUsed` in bytes after two full collections (the second collects what the first's finalizers freed). */
export function heapAfterGc(gc: ForceGc): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** Heap growth of a soak run, measured after forced GCs from the end of the first round to the end of the last. */
export interface HeapReport {
  /** heapUsed after the first round (warm-up) and after the last, in bytes. */
  readonly afterFirstBytes: number;
  readonly afterLastBytes: number;
  readonly growthBytes: number;
  readonly growthPerRoundBytes: number;
  /** Growth above this fails the run. */
  readonly limitBytes: number;
  readonly exceeded: boolean;
}

/** Builds the heap report from the per-round samples (at least two). */
export function heapReport(samples: readonly number[], limitBytes: number): HeapReport {
  const first = samples[0];
  const last = samples[samples.length - 1];
  if (first === undefined || last === undefined || samples.length < 2)
    throw new RangeError(`heap growth needs samples of at least 2 rounds, got ${samples.length}`);
  const growth = last - first;
  return {
    afterFirstBytes: first,
    afterLastBytes: last,
    growthBytes: growth,
    growthPerRoundBytes: Math.round(growth / (samples.length - 1)),
    limitBytes,
    exceeded: growth > limitBytes,
  };
}
