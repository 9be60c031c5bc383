import type { Graph, Tensor } from "../graph/graph.ts";
import { decodeModel } from "../onnx/decode.ts";
import {
  type AttributeValue,
  DataType,
  type ModelProto,
  type NodeProto,
  type TensorProto,
  tensorFloats,
} from "../onnx/model-proto.ts";
import type { ParameterStore } from "../params/store.ts";

/**
 * A seed kernel parsed from its ONNX artifact. The artifact's graph has one data input `[N, inputWidth]`
 * and one output `[N, outputWidth]`; its trainable parameters are the initializers that are also
 * graph inputs (ONNX default values); initializers that are not inputs are constants.
 */
export interface Kernel {
  /** Name of the data input. */
  readonly inputName: string;
  /** Name of the output. */
  readonly outputName: string;
  readonly inputWidth: number;
  readonly outputWidth: number;
  /** Trainable parameters with their initial values, in artifact order. */
  readonly params: readonly {
    readonly name: string;
    readonly shape: readonly number[];
    readonly init: Float32Array;
  }[];
  readonly model: ModelProto;
}

/** Prefix of a seed's parameters in the ParameterStore: `seed/<seedId>/`. */
export function seedParamPrefix(seedId: string): string {
  if (seedId.length === 0 || seedId.includes("/"))
    throw new Error(`seedId '${seedId}' must be non-empty without '/'`);
  return `seed/${seedId}/`;
}

function widthOf(shape: readonly (number | string)[], what: string): number {
  const w = shape[1];
  if (shape.length !== 2 || typeof w !== "number") {
    throw new Error(`kernel ${what} must have shape [N, width] with a fixed width, got [${shape.join(",")}]`);
  }
  return w;
}

/** Parses and validates a kernel artifact (ONNX bytes). */
export function parseKernel(bytes: Uint8Array): Kernel {
  const model = decodeModel(bytes);
  const inits = new Map(model.graph.initializers.map((t) => [t.name, t]));
  const data = model.graph.inputs.filter((i) => !inits.has(i.name));
  const [input] = data;
  if (data.length !== 1 || !input) {
    throw new Error(
      `kernel must have exactly one data input, found ${data.map((d) => d.name).join(", ") || "none"}`,
    );
  }
  const [output] = model.graph.outputs;
  if (model.graph.outputs.length !== 1 || !output) throw new Error("kernel must have exactly one output");
  const params = model.graph.inputs
    .filter((i) => inits.has(i.name))
    .map((i) => {
      const t = inits.get(i.name) as TensorProto;
      if (t.dataType !== DataType.FLOAT) throw new Error(`kernel parameter '${i.name}' must be float32`);
      return { name: i.name, shape: t.dims, init: tensorFloats(t) };
    });
  return {
    inputName: input.name,
    outputName: output.name,
    inputWidth: widthOf(input.shape, `input '${input.name}'`),
    outputWidth: widthOf(output.shape, `output '${output.name}'`),
    params,
    model,
  };
}

/**
 * Adds a seed's kernel parameters to the store under `seed/<seedId>/<name>` with the artifact's
 * initial values. Parameters already present (a re-graft of the same seed) keep their trained values,
 * but their shapes must match.
 */
export function graftKernelParams(store: ParameterStore, seedId: string, kernel: Kernel): string[] {
  const prefix = seedParamPrefix(seedId);
  return kernel.params.map((p) => {
    const name = prefix + p.name;
    if (store.has(name)) {
      const shape = store.shape(name);
      if (shape.length !== p.shape.length || shape.some((d, i) => d !== p.shape[i])) {
        throw new Error(
          `seed parameter '${name}' exists with shape [${shape.join(",")}], kernel has [${p.shape.join(",")}]`,
        );
      }
    } else {
      store.addValues(name, p.shape, p.init);
    }
    return name;
  });
}

function intAttr(node: NodeProto, name: string, fallback: number): number {
  const a: AttributeValue | undefined = node.attributes[name];
  if (a === undefined) return fallback;
  if (a.kind !== "int") throw new Error(`kernel node ${node.opType}: attribute ${name} must be int`);
  return a.value;
}

function floatAttr(node: NodeProto, name: string, fallback: number): number {
  const a = node.attributes[name];
  if (a === undefined) return fallback;
  if (a.kind !== "float") throw new Error(`kernel node ${node.opType}: attribute ${name} must be float`);
  return a.value;
}

function intsAttr(node: NodeProto, name: string): number[] | undefined {
  const a = node.attributes[name];
  if (a === undefined) return undefined;
  if (a.kind !== "ints") throw new Error(`kernel node ${node.opType}: attribute ${name} must be ints`);
  return [...a.value];
}

const unaryOps = {
  Neg: "neg",
  Relu: "relu",
  Tanh: "tanh",
  Sigmoid: "sigmoid",
  Exp: "exp",
  Log: "log",
  Sqrt: "sqrt",
  Softplus: "softplus",
  Abs: "abs",
} as const;
const binaryOps = { Add: "add", Sub: "sub", Mul: "mul", Div: "div", MatMul: "matmul" } as const;

/**
 * Inlines a kernel into `g`, applied to `x`, with its parameters taken from `params` (graph tensors by
 * kernel parameter name). Each node is rebuilt through the Graph methods, so shapes are inferred and
 * the result is differentiable. An operator outside the supported subset is an error naming it.
 */
export function inlineKernel(
  g: Graph,
  kernel: Kernel,
  x: Tensor,
  params: ReadonlyMap<string, Tensor>,
): Tensor {
  const env = new Map<string, Tensor>([[kernel.inputName, x]]);
  const ints = new Map<string, number[]>();
  const inputNames = new Set(kernel.model.graph.inputs.map((i) => i.name));
  for (const t of kernel.model.graph.initializers) {
    if (inputNames.has(t.name)) continue;
    if (t.dataType === DataType.FLOAT) env.set(t.name, g.constant(tensorFloats(t), t.dims, "kconst"));
    else if (t.dataType === DataType.INT64)
      ints.set(t.name, Array.from(new BigInt64Array(t.raw.slice().buffer), Number));
    else throw new Error(`kernel constant '${t.name}' has unsupported data type ${t.dataType}`);
  }
  for (const p of kernel.params) {
    const t = params.get(p.name);
    if (!t) throw new Error(`kernel parameter '${p.name}' has no graph tensor`);
    env.set(p.name, t);
  }
  const get = (name: string | undefined, node: NodeProto): Tensor => {
    const t = name === undefined ? undefined : env.get(name);
    if (!t) throw new Error(`kernel node ${node.opType}: unknown input '${name}'`);
    return t;
  };
  for (const node of kernel.model.graph.nodes) {
    if (node.domain !== "" && node.domain !== "ai.onnx")
      throw new Error(`kernel op domain '${node.domain}' is not supported`);
    const a = (i: number) => get(node.inputs[i], node);
    let out: Tensor;
    const op = node.opType;
    if (op in unaryOps) out = g[unaryOps[op as keyof typeof unaryOps]](a(0));
    else if (op in binaryOps) out = g[binaryOps[op as keyof typeof binaryOps]](a(0), a(1));
    else if (op === "Identity") out = a(0);
    else if (op === "Gemm") {
      out = g.gemm(a(0), a(1), node.inputs[2] ? a(2) : undefined, {
        transA: intAttr(node, "transA", 0) === 1,
        transB: intAttr(node, "transB", 0) === 1,
        alpha: floatAttr(node, "alpha", 1),
        beta: floatAttr(node, "beta", 1),
      });
    } else if (op === "Softmax") out = g.softmax(a(0), intAttr(node, "axis", -1));
    else if (op === "ReduceMean") {
      const x0 = a(0);
      out = g.reduceMean(
        x0,
        intsAttr(node, "axes") ?? [...x0.shape.keys()],
        intAttr(node, "keepdims", 1) === 1,
      );
    } else if (op === "ReduceSum") {
      const x0 = a(0);
      const axes = node.inputs[1] ? ints.get(node.inputs[1]) : [...x0.shape.keys()];
      if (!axes) throw new Error("kernel ReduceSum: axes must be an int64 initializer");
      out = g.reduceSum(x0, axes, intAttr(node, "keepdims", 1) === 1);
    } else if (op === "Transpose") {
      const x0 = a(0);
      out = g.transpose(x0, intsAttr(node, "perm") ?? [...x0.shape.keys()].reverse());
    } else {
      throw new Error(`kernel operator ${op} is not supported by the graph builder`);
    }
    const [name] = node.outputs;
    if (node.outputs.length !== 1 || name === undefined)
      throw new Error(`kernel node ${op} must have one output`);
    env.set(name, out);
  }
  const y = env.get(kernel.outputName);
  if (!y) throw new Error(`kernel output '${kernel.outputName}' is not produced by any node`);
  return y;
}
