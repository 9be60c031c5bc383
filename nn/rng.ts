/**
 * Seeded deterministic random numbers: sfc32 generator, state seeded through splitmix32.
 * The same seed gives the same sequence in every process and on every platform (pure 32-bit
 * integer arithmetic). Streams forked by label are independent of how much the parent consumed.
 */

/** The generator state: four sfc32 words plus the key that forks derive from. */
export interface RngState {
  readonly words: readonly [number, number, number, number];
  readonly key: number;
}

/** A seeded random stream. */
export interface Rng {
  /** The key this stream was created from (a uint32); forks derive their keys from it. */
  readonly key: number;
  /** A uniform uint32 in [0, 2^32). */
  uint32(): number;
  /** A uniform float in [0, 1) with 32 random bits. */
  next(): number;
  /** A uniform integer in [0, n); n is a positive integer <= 2^32 (unbiased, by rejection). */
  int(n: number): number;
  /** A normal sample (Box-Muller; consumes two uint32 per call). */
  normal(mean?: number, std?: number): number;
  /** Shuffles `arr` in place (Fisher-Yates). */
  shuffle<T>(arr: T[]): void;
  /** Shuffles a typed array in place (Fisher-Yates), same draws as `shuffle`. */
  shuffleTyped(arr: Int32Array | Uint32Array | Float32Array): void;
  /**
   * An independent child stream determined only by this stream's key and `label`
   * (not by how many numbers this stream has produced). `fork(1)` equals `fork("1")`.
   */
  fork(label: string | number): Rng;
  /** Fills `out` with normal samples (pairs from Box-Muller). */
  fillNormal(out: Float32Array, mean: number, std: number): void;
  /** Fills `out` with uniform samples in [lo, hi). */
  fillUniform(out: Float32Array, lo: number, hi: number): void;
  /** A copy of the current state (for checkpoints). */
  getState(): RngState;
  /** Continues from a state returned by `getState` (sequence and fork key both restored). */
  setState(state: RngState): void;
}

const TWO_POW_32 = 4294967296;
const INV_TWO_POW_32 = 1 / TWO_POW_32;
const TWO_PI = 2 * Math.PI;

/** One splitmix32 step: returns [next state, output]. */
function splitmix32(state: number): [number, number] {
  const s = (state + 0x9e3779b9) | 0;
  let z = s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  z ^= z >>> 16;
  return [s, z >>> 0];
}

/** FNV-1a hash of a string's UTF-16 code units. */
function fnv1a(label: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Reduces a safe-integer seed (negative allowed) to a uint32 key, mixing both 32-bit halves. */
function seedToKey(seed: number): number {
  if (!Number.isSafeInteger(seed)) {
    throw new Error(`rng seed must be a safe integer, got ${String(seed)}`);
  }
  const lo = seed >>> 0;
  const hi = Math.floor(seed / TWO_POW_32) >>> 0;
  const [, mixed] = splitmix32(lo ^ Math.imul(hi, 0x27d4eb2d));
  return (mixed ^ hi) >>> 0;
}

class Sfc32 implements Rng {
  private k: number;
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(key: number) {
    this.k = key >>> 0;
    let s = this.k;
    let out: number;
    [s, out] = splitmix32(s);
    this.a = out | 0;
    [s, out] = splitmix32(s);
    this.b = out | 0;
    [s, out] = splitmix32(s);
    this.c = out | 0;
    this.d = 1;
    for (let i = 0; i < 12; i++) this.uint32();
  }

  get key(): number {
    return this.k;
  }

  uint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  next(): number {
    return this.uint32() * INV_TWO_POW_32;
  }

  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > TWO_POW_32) {
      throw new Error(`rng.int(n): n must be an integer in [1, 2^32], got ${String(n)}`);
    }
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    let r = this.uint32();
    while (r >= limit) r = this.uint32();
    return r % n;
  }

  normal(mean = 0, std = 1): number {
    const u1 = 1 - this.next();
    const u2 = this.next();
    return mean + std * Math.sqrt(-2 * Math.log(u1)) * Math.cos(TWO_PI * u2);
  }

  shuffle<T>(arr: T[]): void {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = arr[i] as T;
      arr[i] = arr[j] as T;
      arr[j] = tmp;
    }
  }

  shuffleTyped(arr: Int32Array | Uint32Array | Float32Array): void {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = arr[i] as number;
      arr[i] = arr[j] as number;
      arr[j] = tmp;
    }
  }

  fork(label: string | number): Rng {
    const h = fnv1a(String(label));
    const [, k1] = splitmix32(this.key ^ 0x5bd1e995);
    const [, k2] = splitmix32((k1 + h) | 0);
    return new Sfc32(k2);
  }

  fillNormal(out: Float32Array, mean: number, std: number): void {
    const n = out.length;
    let i = 0;
    for (; i + 1 < n; i += 2) {
      const r = Math.sqrt(-2 * Math.log(1 - this.next()));
      const theta = TWO_PI * this.next();
      out[i] = mean + std * r * Math.cos(theta);
      out[i + 1] = mean + std * r * Math.sin(theta);
    }
    if (i < n) out[i] = this.normal(mean, std);
  }

  fillUniform(out: Float32Array, lo: number, hi: number): void {
    const span = hi - lo;
    for (let i = 0; i < out.length; i++) out[i] = lo + span * this.next();
  }

  getState(): RngState {
    return { words: [this.a >>> 0, this.b >>> 0, this.c >>> 0, this.d >>> 0], key: this.key };
  }

  setState(state: RngState): void {
    for (const w of [...state.words, state.key]) {
      if (!Number.isInteger(w) || w < 0 || w >= TWO_POW_32) {
        throw new Error(`rng state words and key must be uint32 values, got ${String(w)}`);
      }
    }
    this.k = state.key;
    [this.a, this.b, this.c, this.d] = state.words.map((w) => w | 0) as [number, number, number, number];
  }
}

/** Creates a stream from a seed (any safe integer; equal seeds give equal sequences). */
export function createRng(seed: number): Rng {
  return new Sfc32(seedToKey(seed));
}
