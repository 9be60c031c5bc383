import type { Dim } from "../onnx/model-proto.ts";

/** Renders a shape for error messages, e.g. `[N,784]`. */
export function showShape(shape: readonly Dim[]): string {
  return `[${shape.join(",")}]`;
}

/** The numpy-style broadcast of two shapes; throws when they are incompatible. */
export function broadcastShapes(a: readonly Dim[], b: readonly Dim[]): Dim[] {
  const rank = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da === db || db === 1) out.push(da);
    else if (da === 1) out.push(db);
    else throw new Error(`shapes ${showShape(a)} and ${showShape(b)} do not broadcast`);
  }
  return out;
}

/** Normalises possibly negative axes against a rank, sorted ascending; throws when out of range. */
export function normalizeAxes(axes: readonly number[], rank: number): number[] {
  const out = axes.map((a) => {
    const n = a < 0 ? a + rank : a;
    if (n < 0 || n >= rank) throw new Error(`axis ${a} is out of range for rank ${rank}`);
    return n;
  });
  return [...new Set(out)].sort((x, y) => x - y);
}

/** The shape after reducing `axes` (normalised) with or without keeping them as size 1. */
export function reducedShape(shape: readonly Dim[], axes: readonly number[], keepdims: boolean): Dim[] {
  const set = new Set(axes);
  const out: Dim[] = [];
  shape.forEach((d, i) => {
    if (!set.has(i)) out.push(d);
    else if (keepdims) out.push(1);
  });
  return out;
}

/** The product of the given dims when all are fixed numbers, else undefined. */
export function staticSize(dims: readonly Dim[]): number | undefined {
  let n = 1;
  for (const d of dims) {
    if (typeof d !== "number") return undefined;
    n *= d;
  }
  return n;
}
