import {
  type AttributeValue,
  type Dim,
  floatTensor,
  int64Tensor,
  type TensorProto,
} from "../onnx/model-proto.ts";
import { broadcastShapes, normalizeAxes, reducedShape, showShape } from "./shape.ts";

/** Element types a graph tensor can have. */
export type DType = "float32" | "int32" | "int64" | "bool";

/** A handle to a tensor of a graph: its unique name, shape (fixed or symbolic dims) and element type. */
export interface Tensor {
  readonly name: string;
  readonly shape: readonly Dim[];
  readonly dtype: DType;
}

/** A recorded operator application. `stopGradient` marks an Identity that blocks reverse-mode flow. */
export interface GraphNode {
  readonly opType: string;
  readonly inputs: readonly Tensor[];
  readonly outputs: readonly Tensor[];
  readonly attributes: Readonly<Record<string, AttributeValue>>;
  readonly stopGradient: boolean;
  /**
   * Set on the primitive nodes of a composite op: the composite node (not itself written to ONNX)
   * that reverse-mode differentiation uses, with its own rule, in place of its primitives.
   */
  readonly composite?: GraphNode;
}

/** Options of `Graph.gemm`: transposes and scale factors of ONNX Gemm (Y = alpha·A'·B' + beta·C). */
export interface GemmOptions {
  readonly transA?: boolean;
  readonly transB?: boolean;
  readonly alpha?: number;
  readonly beta?: number;
}

/** Declared output of a generic `Graph.op` call. */
export interface OutputSpec {
  readonly shape: readonly Dim[];
  readonly dtype?: DType;
  readonly hint?: string;
}

/** Attribute helpers: tag plain values with their ONNX attribute type. */
export const attr = {
  int: (value: number): AttributeValue => ({ kind: "int", value }),
  float: (value: number): AttributeValue => ({ kind: "float", value }),
  ints: (value: readonly number[]): AttributeValue => ({ kind: "ints", value }),
  floats: (value: readonly number[]): AttributeValue => ({ kind: "floats", value }),
  string: (value: string): AttributeValue => ({ kind: "string", value }),
  tensor: (value: TensorProto): AttributeValue => ({ kind: "tensor", value }),
} as const;

function expectFloat(op: string, ...ts: Tensor[]): void {
  for (const t of ts) {
    if (t.dtype !== "float32") throw new Error(`${op}: input '${t.name}' must be float32, got ${t.dtype}`);
  }
}

/**
 * A graph under construction: graph inputs, constants (become ONNX initializers) and nodes in
 * topological order. Each method checks its inputs, infers the output shape and returns a handle.
 * Dims may be symbolic strings (e.g. "N" for the batch); broadcasting treats equal names as equal.
 */
export class Graph {
  /** Graph inputs in declaration order. */
  readonly inputs: Tensor[] = [];
  /** Constants, written as initializers. */
  readonly constants = new Map<string, TensorProto>();
  /** Nodes in creation (topological) order. */
  readonly nodes: GraphNode[] = [];
  private readonly names = new Set<string>();
  private readonly scalarCache = new Map<number, Tensor>();
  private counter = 0;

  private fresh(hint: string): string {
    let name = `${hint}_${this.counter++}`;
    while (this.names.has(name)) name = `${hint}_${this.counter++}`;
    this.names.add(name);
    return name;
  }

  private claim(name: string): void {
    if (name.length === 0) throw new Error("graph: tensor name must not be empty");
    if (this.names.has(name)) throw new Error(`graph: tensor name '${name}' is already used`);
    this.names.add(name);
  }

  /** Declares a graph input (data, labels, parameters, alpha...). */
  input(name: string, shape: readonly Dim[], dtype: DType = "float32"): Tensor {
    this.claim(name);
    const t: Tensor = { name, shape: [...shape], dtype };
    this.inputs.push(t);
    return t;
  }

  /** Adds a float32 constant (an initializer) with the given dims. */
  constant(values: ArrayLike<number>, dims: readonly number[], hint = "const"): Tensor {
    const name = this.fresh(hint);
    this.constants.set(name, floatTensor(name, dims, values));
    return { name, shape: [...dims], dtype: "float32" };
  }

  /** Adds an int64 constant (shapes, axes, indices). */
  constantInt64(values: readonly number[], dims: readonly number[], hint = "const_i64"): Tensor {
    const name = this.fresh(hint);
    this.constants.set(name, int64Tensor(name, dims, values));
    return { name, shape: [...dims], dtype: "int64" };
  }

  /** A float32 rank-0 constant, shared between uses of the same value. */
  scalar(value: number): Tensor {
    const cached = this.scalarCache.get(value);
    if (cached) return cached;
    const t = this.constant([value], [], "scalar");
    this.scalarCache.set(value, t);
    return t;
  }

  /**
   * Records any ONNX operator with declared outputs. Reverse-mode differentiation supports only the
   * operators listed in `autodiff/rules.ts`; others may be used off the gradient path.
   */
  op(
    opType: string,
    inputs: readonly Tensor[],
    attributes: Readonly<Record<string, AttributeValue>>,
    outputs: readonly OutputSpec[],
  ): Tensor[] {
    const outs = outputs.map((o) => ({
      name: this.fresh(o.hint ?? opType.toLowerCase()),
      shape: [...o.shape],
      dtype: o.dtype ?? "float32",
    }));
    this.nodes.push({ opType, inputs: [...inputs], outputs: outs, attributes, stopGradient: false });
    return outs;
  }

  private one(
    opType: string,
    inputs: readonly Tensor[],
    shape: readonly Dim[],
    attrs = {},
    dtype: DType = "float32",
  ): Tensor {
    const [out] = this.op(opType, inputs, attrs, [{ shape, dtype }]);
    if (!out) throw new Error(`graph: ${opType} produced no output`);
    return out;
  }

  /**
   * Records the nodes `build` emits as the primitives of the composite `opType` over `inputs`; the
   * composite's outputs are the tensors `build` returns. A composite built inside `build` becomes part
   * of this one.
   */
  private composite(opType: string, inputs: readonly Tensor[], build: () => Tensor[]): Tensor[] {
    const start = this.nodes.length;
    const outputs = build();
    const node: GraphNode = { opType, inputs: [...inputs], outputs, attributes: {}, stopGradient: false };
    for (let i = start; i < this.nodes.length; i++) {
      const n = this.nodes[i];
      if (n) this.nodes[i] = { ...n, composite: node };
    }
    return outputs;
  }

  private binary(opType: string, a: Tensor, b: Tensor): Tensor {
    expectFloat(opType, a, b);
    return this.one(opType, [a, b], broadcastShapes(a.shape, b.shape));
  }

  /** Element-wise a + b with broadcasting. */
  add(a: Tensor, b: Tensor): Tensor {
    return this.binary("Add", a, b);
  }
  /** Element-wise a − b with broadcasting. */
  sub(a: Tensor, b: Tensor): Tensor {
    return this.binary("Sub", a, b);
  }
  /** Element-wise a · b with broadcasting. */
  mul(a: Tensor, b: Tensor): Tensor {
    return this.binary("Mul", a, b);
  }
  /** Element-wise a / b with broadcasting. */
  div(a: Tensor, b: Tensor): Tensor {
    return this.binary("Div", a, b);
  }

  private unary(opType: string, x: Tensor, attrs: Readonly<Record<string, AttributeValue>> = {}): Tensor {
    expectFloat(opType, x);
    return this.one(opType, [x], x.shape, attrs);
  }

  /** −x. */
  neg(x: Tensor): Tensor {
    return this.unary("Neg", x);
  }
  /** max(x, 0). */
  relu(x: Tensor): Tensor {
    return this.unary("Relu", x);
  }
  /** tanh(x). */
  tanh(x: Tensor): Tensor {
    return this.unary("Tanh", x);
  }
  /** 1 / (1 + e^−x). */
  sigmoid(x: Tensor): Tensor {
    return this.unary("Sigmoid", x);
  }
  /** e^x. */
  exp(x: Tensor): Tensor {
    return this.unary("Exp", x);
  }
  /** ln x. */
  log(x: Tensor): Tensor {
    return this.unary("Log", x);
  }
  /** √x. */
  sqrt(x: Tensor): Tensor {
    return this.unary("Sqrt", x);
  }
  /** |x|. */
  abs(x: Tensor): Tensor {
    return this.unary("Abs", x);
  }
  /** ln(1 + e^x), computed stably as max(x, 0) + ln(1 + e^−|x|) from primitives. */
  softplus(x: Tensor): Tensor {
    return this.add(this.relu(x), this.log(this.add(this.exp(this.neg(this.abs(x))), this.scalar(1))));
  }
  /** Softmax along `axis` (default last). */
  softmax(x: Tensor, axis = -1): Tensor {
    return this.unary("Softmax", x, { axis: attr.int(axis) });
  }

  /** GELU, tanh approximation: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), built from primitives. */
  gelu(x: Tensor): Tensor {
    const x3 = this.mul(this.mul(x, x), x);
    const inner = this.mul(
      this.add(x, this.mul(x3, this.scalar(0.044715))),
      this.scalar(Math.sqrt(2 / Math.PI)),
    );
    return this.mul(this.mul(x, this.scalar(0.5)), this.add(this.tanh(inner), this.scalar(1)));
  }

  /**
   * Layer normalisation over the last axis with learnable scale and shift, built from primitives
   * (ReduceMean, Sub, Mul, Sqrt, Div) so it differentiates like any composite.
   */
  layerNorm(x: Tensor, scale: Tensor, shift: Tensor, epsilon = 1e-5): Tensor {
    const mean = this.reduceMean(x, [-1], true);
    const centered = this.sub(x, mean);
    const variance = this.reduceMean(this.mul(centered, centered), [-1], true);
    const std = this.sqrt(this.add(variance, this.scalar(epsilon)));
    return this.add(this.mul(this.div(centered, std), scale), shift);
  }

  /** Y = alpha·op(A)·op(B) + beta·C (ONNX Gemm; A and B are 2-D, C broadcasts to Y). */
  gemm(a: Tensor, b: Tensor, c?: Tensor, options: GemmOptions = {}): Tensor {
    expectFloat("Gemm", a, b, ...(c ? [c] : []));
    if (a.shape.length !== 2 || b.shape.length !== 2) {
      throw new Error(`Gemm: inputs must be 2-D, got ${showShape(a.shape)} and ${showShape(b.shape)}`);
    }
    const transA = options.transA ?? false;
    const transB = options.transB ?? false;
    const [m, k1] = transA ? [a.shape[1], a.shape[0]] : [a.shape[0], a.shape[1]];
    const [k2, n] = transB ? [b.shape[1], b.shape[0]] : [b.shape[0], b.shape[1]];
    if (m === undefined || n === undefined || k1 !== k2) {
      throw new Error(`Gemm: inner dims differ: ${showShape(a.shape)} · ${showShape(b.shape)}`);
    }
    const shape = [m, n];
    if (c) broadcastShapes(shape, c.shape);
    const attrs: Record<string, AttributeValue> = {};
    if (transA) attrs.transA = attr.int(1);
    if (transB) attrs.transB = attr.int(1);
    if (options.alpha !== undefined && options.alpha !== 1) attrs.alpha = attr.float(options.alpha);
    if (options.beta !== undefined && options.beta !== 1) attrs.beta = attr.float(options.beta);
    return this.one("Gemm", c ? [a, b, c] : [a, b], shape, attrs);
  }

  /** 2-D matrix product a·b. */
  matmul(a: Tensor, b: Tensor): Tensor {
    expectFloat("MatMul", a, b);
    const [m, k1] = a.shape;
    const [k2, n] = b.shape;
    if (a.shape.length !== 2 || b.shape.length !== 2 || k1 !== k2 || m === undefined || n === undefined) {
      throw new Error(
        `MatMul: needs 2-D inputs with equal inner dims, got ${showShape(a.shape)} · ${showShape(b.shape)}`,
      );
    }
    return this.one("MatMul", [a, b], [m, n]);
  }

  /** Sum over `axes` (ReduceSum, axes as an input since opset 13). */
  reduceSum(x: Tensor, axes: readonly number[], keepdims: boolean): Tensor {
    expectFloat("ReduceSum", x);
    const norm = normalizeAxes(axes, x.shape.length);
    const axesT = this.constantInt64(norm, [norm.length], "axes");
    return this.one("ReduceSum", [x, axesT], reducedShape(x.shape, norm, keepdims), {
      keepdims: attr.int(keepdims ? 1 : 0),
    });
  }

  /** Mean over `axes` (ReduceMean, axes as an attribute in opset 17). */
  reduceMean(x: Tensor, axes: readonly number[], keepdims: boolean): Tensor {
    expectFloat("ReduceMean", x);
    const norm = normalizeAxes(axes, x.shape.length);
    return this.one("ReduceMean", [x], reducedShape(x.shape, norm, keepdims), {
      axes: attr.ints(norm),
      keepdims: attr.int(keepdims ? 1 : 0),
    });
  }

  /** Permutes axes. */
  transpose(x: Tensor, perm: readonly number[]): Tensor {
    if (perm.length !== x.shape.length || new Set(perm).size !== perm.length) {
      throw new Error(`Transpose: perm [${perm.join(",")}] does not fit ${showShape(x.shape)}`);
    }
    const shape = perm.map((p) => {
      const d = x.shape[p];
      if (d === undefined) throw new Error(`Transpose: perm entry ${p} is out of range`);
      return d;
    });
    return this.one("Transpose", [x], shape, { perm: attr.ints(perm) }, x.dtype);
  }

  /** Reshapes to a target (ONNX semantics: 0 copies a dim, −1 is inferred); `outShape` declares the result. */
  reshape(x: Tensor, target: readonly number[], outShape: readonly Dim[]): Tensor {
    const t = this.constantInt64(target, [target.length], "shape");
    return this.one("Reshape", [x, t], outShape, {}, x.dtype);
  }

  /** A named copy of `x`: gradients flow through it, and ∂L/∂(copy) is the part of ∂L/∂x through its uses. */
  identity(x: Tensor): Tensor {
    return this.one("Identity", [x], x.shape, {}, x.dtype);
  }

  /** Identity in the forward pass; reverse-mode differentiation sends no gradient through it. */
  stopGradient(x: Tensor): Tensor {
    const out = { name: this.fresh("stop_gradient"), shape: [...x.shape], dtype: x.dtype };
    this.nodes.push({ opType: "Identity", inputs: [x], outputs: [out], attributes: {}, stopGradient: true });
    return out;
  }

  /**
   * Mean softmax cross-entropy of `logits` [N, C] against integer class `labels` [N]. Returns the
   * rank-0 loss. Written as LogSoftmax, GatherElements and ReduceMean (ORT expands the ONNX
   * SoftmaxCrossEntropyLoss function into about twice as many nodes); it differentiates as the
   * composite `SoftmaxCrossEntropy` (rule in `autodiff/rules.ts`), whose second output is the
   * log-probabilities [N, C].
   */
  softmaxCrossEntropy(logits: Tensor, labels: Tensor): Tensor {
    expectFloat("SoftmaxCrossEntropy", logits);
    if (labels.dtype !== "int32" && labels.dtype !== "int64") {
      throw new Error(`SoftmaxCrossEntropy: labels '${labels.name}' must be int32 or int64`);
    }
    const [n] = labels.shape;
    if (logits.shape.length !== 2 || labels.shape.length !== 1 || n === undefined || logits.shape[0] !== n) {
      throw new Error(
        `SoftmaxCrossEntropy: logits ${showShape(logits.shape)} and labels ${showShape(labels.shape)} disagree`,
      );
    }
    const [loss] = this.composite("SoftmaxCrossEntropy", [logits, labels], () => {
      const logProb = this.one("LogSoftmax", [logits], logits.shape, { axis: attr.int(1) });
      const column = this.one(
        "Unsqueeze",
        [labels, this.constantInt64([1], [1], "axes")],
        [n, 1],
        {},
        labels.dtype,
      );
      const picked = this.one("GatherElements", [logProb, column], [n, 1], { axis: attr.int(1) });
      return [this.neg(this.reduceMean(picked, [0, 1], false)), logProb];
    });
    if (!loss) throw new Error("SoftmaxCrossEntropy: no output");
    return loss;
  }

  /** Mean binary cross-entropy of `logits` against float `targets` in [0, 1]: mean(softplus(z) − y·z). */
  sigmoidBinaryCrossEntropy(logits: Tensor, targets: Tensor): Tensor {
    const perElement = this.sub(this.softplus(logits), this.mul(targets, logits));
    return this.reduceMean(
      perElement,
      perElement.shape.map((_, i) => i),
      false,
    );
  }

  /** Mean squared error mean((a − b)²). */
  meanSquaredError(a: Tensor, b: Tensor): Tensor {
    const d = this.sub(a, b);
    const sq = this.mul(d, d);
    return this.reduceMean(
      sq,
      sq.shape.map((_, i) => i),
      false,
    );
  }
}
