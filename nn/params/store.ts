/**
 * ParameterStore: named trainable tensors, each one flat row-major Float32Array with a shape.
 * A buffer object is created by `add` and dropped by `remove`, and never replaced in between:
 * snapshot restore, file load and optimizer steps all write into it, so ONNX Runtime tensors made
 * directly from `get(name)` stay valid.
 */
import type { Rng } from "../rng.ts";
import { type Init, initialise } from "./init.ts";
import { type NamedTensor, readTensorFile, shapeSize, writeTensorFile } from "./tensor-file.ts";

/** A copy of every parameter's values, taken by `ParameterStore.snapshot`. */
export interface ParamSnapshot {
  readonly tensors: ReadonlyMap<string, { readonly shape: readonly number[]; readonly data: Float32Array }>;
}

interface Entry {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

function validateShape(name: string, shape: readonly number[]): void {
  if (!shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new Error(`parameter "${name}": shape must be positive integers, got [${shape.join(", ")}]`);
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Named parameters with deterministic initialisation, snapshots and checksummed files. */
export class ParameterStore {
  private readonly entries = new Map<string, Entry>();
  private readonly rng: Rng;
  private total = 0;

  /** `rng` seeds initialisation: parameter `name` draws from `rng.fork(name)` unless given its own. */
  constructor(rng: Rng) {
    this.rng = rng;
  }

  /** Creates a store holding the tensors of a file written by `save`. */
  static async fromFile(path: string, rng: Rng): Promise<ParameterStore> {
    const store = new ParameterStore(rng);
    for (const t of await readTensorFile(path)) store.addValues(t.name, t.shape, t.data);
    return store;
  }

  /**
   * Adds parameter `name` of `shape` initialised by `init`, drawing from `rng` (default:
   * `fork(name)` of the store's rng, so values depend only on the seed and the name). Returns its buffer.
   */
  add(name: string, shape: readonly number[], init: Init, rng?: Rng): Float32Array {
    const data = this.create(name, shape);
    initialise(data, shape, init, rng ?? this.rng.fork(name));
    return data;
  }

  /** Adds parameter `name` of `shape` holding a copy of `values` (e.g. a kernel's initial weights). */
  addValues(name: string, shape: readonly number[], values: ArrayLike<number>): Float32Array {
    validateShape(name, shape);
    if (values.length !== shapeSize(shape)) {
      throw new Error(
        `parameter "${name}": ${values.length} values do not fit shape [${shape.join(", ")}] (${shapeSize(shape)})`,
      );
    }
    const data = this.create(name, shape);
    data.set(values);
    return data;
  }

  private create(name: string, shape: readonly number[]): Float32Array {
    if (name.length === 0) throw new Error("parameter name must not be empty");
    if (this.entries.has(name)) throw new Error(`parameter "${name}" already exists`);
    validateShape(name, shape);
    const data = new Float32Array(shapeSize(shape));
    this.entries.set(name, { shape: Object.freeze([...shape]), data });
    this.total += data.length;
    return data;
  }

  private entry(name: string): Entry {
    const e = this.entries.get(name);
    if (e === undefined) throw new Error(`unknown parameter "${name}"`);
    return e;
  }

  /** The buffer of parameter `name` (the live one: writes change the parameter). */
  get(name: string): Float32Array {
    return this.entry(name).data;
  }

  /** The shape of parameter `name`. */
  shape(name: string): readonly number[] {
    return this.entry(name).shape;
  }

  /** Whether parameter `name` exists. */
  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** Parameter names in insertion order. */
  names(): string[] {
    return [...this.entries.keys()];
  }

  /** Removes parameter `name` (e.g. a culled seed's); an unknown name is an error. */
  remove(name: string): void {
    const e = this.entry(name);
    this.entries.delete(name);
    this.total -= e.data.length;
  }

  /** Total number of scalar values over all parameters. */
  get size(): number {
    return this.total;
  }

  /** Number of named parameters. */
  get count(): number {
    return this.entries.size;
  }

  /**
   * Copies every parameter. Passing a previous snapshot with the same names and shapes reuses its
   * buffers (no allocation); otherwise new buffers are allocated.
   */
  snapshot(reuse?: ParamSnapshot): ParamSnapshot {
    if (reuse !== undefined && this.matches(reuse)) {
      for (const [name, e] of this.entries) {
        const target = reuse.tensors.get(name);
        if (target === undefined) throw new Error(`snapshot lacks parameter "${name}"`);
        target.data.set(e.data);
      }
      return reuse;
    }
    const tensors = new Map<string, { shape: readonly number[]; data: Float32Array }>();
    for (const [name, e] of this.entries) tensors.set(name, { shape: e.shape, data: e.data.slice() });
    return { tensors };
  }

  private matches(snap: ParamSnapshot): boolean {
    if (snap.tensors.size !== this.entries.size) return false;
    for (const [name, e] of this.entries) {
      const s = snap.tensors.get(name);
      if (s === undefined || !sameShape(s.shape, e.shape)) return false;
    }
    return true;
  }

  /**
   * Writes a snapshot's values into the existing buffers. The snapshot must hold exactly this
   * store's names and shapes (add or remove parameters first); a mismatch is an error naming it.
   */
  restore(snap: ParamSnapshot): void {
    this.checkSnapshot(snap);
    for (const [name, t] of snap.tensors) this.entry(name).data.set(t.data);
  }

  /**
   * Throws, naming the parameter, unless `snap` holds exactly this store's names and shapes with
   * values of each shape's size (what `restore` needs to write every buffer). Writes nothing.
   */
  checkSnapshot(snap: ParamSnapshot): void {
    this.checkSameSet(
      "snapshot",
      [...snap.tensors].map(([name, t]) => ({ name, shape: t.shape })),
    );
    for (const [name, t] of snap.tensors) {
      if (t.data.length !== shapeSize(t.shape))
        throw new Error(
          `snapshot parameter "${name}" has ${t.data.length} values, shape [${t.shape.join(", ")}] needs ${shapeSize(t.shape)}`,
        );
    }
  }

  private checkSameSet(source: string, tensors: readonly { name: string; shape: readonly number[] }[]): void {
    const seen = new Set<string>();
    for (const t of tensors) {
      const e = this.entries.get(t.name);
      if (e === undefined)
        throw new Error(`${source} has parameter "${t.name}" that the store does not have`);
      if (!sameShape(e.shape, t.shape)) {
        throw new Error(
          `${source} parameter "${t.name}" has shape [${t.shape.join(", ")}], store has [${e.shape.join(", ")}]`,
        );
      }
      seen.add(t.name);
    }
    for (const name of this.entries.keys()) {
      if (!seen.has(name)) throw new Error(`${source} lacks parameter "${name}"`);
    }
  }

  /** Writes every parameter to a checksummed tensor file at `path` (atomic replace). */
  async save(path: string): Promise<void> {
    const tensors: NamedTensor[] = [];
    for (const [name, e] of this.entries) tensors.push({ name, shape: e.shape, data: e.data });
    await writeTensorFile(path, tensors);
  }

  /**
   * Reads a file written by `save` into the existing buffers. The file must hold exactly this
   * store's names and shapes; wrong magic, version or checksum is an error naming the file.
   */
  async load(path: string): Promise<void> {
    const tensors = await readTensorFile(path);
    this.checkSameSet(`parameter file ${path}`, tensors);
    for (const t of tensors) this.entry(t.name).data.set(t.data);
  }
}
