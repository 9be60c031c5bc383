import { encodeModel } from "../onnx/encode.ts";
import {
  DataType,
  IR_VERSION,
  type ModelProto,
  type NodeProto,
  OPSET_VERSION,
  type TensorProto,
  type ValueInfoProto,
} from "../onnx/model-proto.ts";
import type { DType, Graph, GraphNode, Tensor } from "./graph.ts";

const elemType: Record<DType, DataType> = {
  float32: DataType.FLOAT,
  int32: DataType.INT32,
  int64: DataType.INT64,
  bool: DataType.BOOL,
};

/** Options of `toModel`. */
export interface ToModelOptions {
  /** Graph name written into the model. */
  readonly name: string;
  /** String metadata (ModelProto.metadata_props). */
  readonly metadata?: Readonly<Record<string, string>>;
  /** Graph inputs to turn into initializers with these values (e.g. trained weights on export). */
  readonly freeze?: ReadonlyMap<string, Float32Array>;
  /**
   * Graph inputs that keep being inputs but get these values as initializers (ONNX default values).
   * Kernel artifacts mark their trainable parameters this way.
   */
  readonly defaults?: ReadonlyMap<string, Float32Array>;
}

/**
 * Converts a built graph into a ModelProto with the given named outputs. Nodes, constants and inputs
 * that no output depends on are dropped. An output whose tensor has another name renames that tensor
 * when a node computes it and no other output names it, and gets an Identity otherwise.
 */
export function toModel(g: Graph, outputs: ReadonlyMap<string, Tensor>, options: ToModelOptions): ModelProto {
  const producer = new Map<string, GraphNode>();
  for (const n of g.nodes) for (const o of n.outputs) producer.set(o.name, n);
  const needed = new Set<string>();
  const keep = new Set<GraphNode>();
  const stack = [...outputs.values()].map((t) => t.name);
  while (stack.length > 0) {
    const name = stack.pop();
    if (name === undefined || needed.has(name)) continue;
    needed.add(name);
    const node = producer.get(name);
    if (node && !keep.has(node)) {
      keep.add(node);
      for (const i of node.inputs) stack.push(i.name);
    }
  }
  // An output computed by a node under one output name is that node's output renamed; an input, a
  // constant or a tensor under several output names is passed through an Identity.
  const uses = new Map<string, number>();
  for (const t of outputs.values()) uses.set(t.name, (uses.get(t.name) ?? 0) + 1);
  const rename = new Map<string, string>();
  const outInfos: ValueInfoProto[] = [];
  const identities: NodeProto[] = [];
  for (const [name, t] of outputs) {
    if (name !== t.name) {
      if (needed.has(name) || g.inputs.some((i) => i.name === name)) {
        throw new Error(`toModel: output name '${name}' collides with a graph tensor`);
      }
      if (producer.has(t.name) && uses.get(t.name) === 1) rename.set(t.name, name);
      else {
        identities.push({
          opType: "Identity",
          inputs: [t.name],
          outputs: [name],
          name: `out_${name}`,
          domain: "",
          attributes: {},
        });
      }
    }
    outInfos.push({ name, elemType: elemType[t.dtype], shape: t.shape });
  }
  const named = (t: Tensor): string => rename.get(t.name) ?? t.name;
  const nodes: NodeProto[] = g.nodes
    .filter((n) => keep.has(n))
    .map((n, i) => ({
      opType: n.opType,
      inputs: n.inputs.map(named),
      outputs: n.outputs.map(named),
      name: `${n.opType}_${i}`,
      domain: "",
      attributes: n.attributes,
    }));
  nodes.push(...identities);
  const initializers: TensorProto[] = [...g.constants.values()].filter((c) => needed.has(c.name));
  const inputs: ValueInfoProto[] = [];
  for (const t of g.inputs) {
    if (!needed.has(t.name)) continue;
    const frozen = options.freeze?.get(t.name) ?? options.defaults?.get(t.name);
    if (frozen && options.defaults?.has(t.name))
      inputs.push({ name: t.name, elemType: elemType[t.dtype], shape: t.shape });
    if (frozen) {
      const dims = t.shape.map((d) => {
        if (typeof d !== "number")
          throw new Error(`toModel: cannot freeze '${t.name}' with symbolic dim ${d}`);
        return d;
      });
      if (dims.reduce((a, b) => a * b, 1) !== frozen.length) {
        throw new Error(`toModel: '${t.name}' has ${frozen.length} values for shape [${dims.join(",")}]`);
      }
      initializers.push({
        name: t.name,
        dataType: DataType.FLOAT,
        dims,
        raw: new Uint8Array(frozen.buffer.slice(frozen.byteOffset, frozen.byteOffset + frozen.byteLength)),
      });
    } else {
      inputs.push({ name: t.name, elemType: elemType[t.dtype], shape: t.shape });
    }
  }
  return {
    irVersion: IR_VERSION,
    opsetVersion: OPSET_VERSION,
    producerName: "esper-nn",
    graph: { name: options.name, nodes, initializers, inputs, outputs: outInfos },
    metadata: options.metadata ?? {},
  };
}

/** `toModel` followed by protobuf encoding. */
export function toOnnxBytes(
  g: Graph,
  outputs: ReadonlyMap<string, Tensor>,
  options: ToModelOptions,
): Uint8Array {
  return encodeModel(toModel(g, outputs, options));
}
