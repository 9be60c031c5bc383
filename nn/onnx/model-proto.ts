/**
 * The subset of ONNX's ModelProto family this project writes and reads, as plain TypeScript data.
 * Field numbers follow onnx/onnx.proto (IR version 8, default-domain opset 17).
 */

/** ONNX IR version written by this project (ORT 1.30 accepts it). */
export const IR_VERSION = 8;
/** Default-domain operator set version written by this project. */
export const OPSET_VERSION = 17;

/** TensorProto.DataType codes used here. */
export const DataType = { FLOAT: 1, UINT8: 2, INT32: 6, INT64: 7, BOOL: 9, DOUBLE: 11 } as const;
export type DataType = (typeof DataType)[keyof typeof DataType];

/** A dimension: a fixed size or a symbolic name (e.g. the batch dimension "N"). */
export type Dim = number | string;

/** A tensor with its data stored little-endian in `raw` (TensorProto.raw_data). */
export interface TensorProto {
  readonly name: string;
  readonly dataType: DataType;
  readonly dims: readonly number[];
  readonly raw: Uint8Array;
}

/** An attribute value, tagged by its ONNX AttributeType. */
export type AttributeValue =
  | { readonly kind: "float"; readonly value: number }
  | { readonly kind: "int"; readonly value: number }
  | { readonly kind: "string"; readonly value: string }
  | { readonly kind: "floats"; readonly value: readonly number[] }
  | { readonly kind: "ints"; readonly value: readonly number[] }
  | { readonly kind: "tensor"; readonly value: TensorProto };

/** A node: an operator applied to named inputs producing named outputs. */
export interface NodeProto {
  readonly opType: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly name: string;
  readonly domain: string;
  readonly attributes: Readonly<Record<string, AttributeValue>>;
}

/** A typed graph input or output. */
export interface ValueInfoProto {
  readonly name: string;
  readonly elemType: DataType;
  readonly shape: readonly Dim[];
}

/** A graph: nodes in topological order, initializers, inputs and outputs. */
export interface GraphProto {
  readonly name: string;
  readonly nodes: readonly NodeProto[];
  readonly initializers: readonly TensorProto[];
  readonly inputs: readonly ValueInfoProto[];
  readonly outputs: readonly ValueInfoProto[];
}

/** A model: one graph plus version information and string metadata. */
export interface ModelProto {
  readonly irVersion: number;
  readonly opsetVersion: number;
  readonly producerName: string;
  readonly graph: GraphProto;
  readonly metadata: Readonly<Record<string, string>>;
}

/** Builds a float32 TensorProto from values (copied). */
export function floatTensor(name: string, dims: readonly number[], values: ArrayLike<number>): TensorProto {
  const data = Float32Array.from(values as ArrayLike<number>);
  const expected = dims.reduce((a, b) => a * b, 1);
  if (data.length !== expected) {
    throw new Error(
      `tensor '${name}': ${data.length} values for dims [${dims.join(",")}] (expected ${expected})`,
    );
  }
  return { name, dataType: DataType.FLOAT, dims: [...dims], raw: new Uint8Array(data.buffer) };
}

/** Builds an int64 TensorProto from integer values. */
export function int64Tensor(name: string, dims: readonly number[], values: readonly number[]): TensorProto {
  const data = BigInt64Array.from(values.map((v) => BigInt(v)));
  return { name, dataType: DataType.INT64, dims: [...dims], raw: new Uint8Array(data.buffer) };
}

/** Reads a float32 TensorProto's values (copied into a fresh Float32Array). */
export function tensorFloats(t: TensorProto): Float32Array {
  if (t.dataType !== DataType.FLOAT)
    throw new Error(`tensor '${t.name}': data type ${t.dataType} is not float32`);
  const out = new Float32Array(t.raw.byteLength / 4);
  new Uint8Array(out.buffer).set(t.raw);
  return out;
}
