import { type AttributeValue, DataType, type ModelProto, type TensorProto } from "./model-proto.ts";

function widenTensor(t: TensorProto): TensorProto {
  if (t.dataType !== DataType.FLOAT) return t;
  const f32 = new Float32Array(t.raw.slice().buffer);
  return { ...t, dataType: DataType.DOUBLE, raw: new Uint8Array(Float64Array.from(f32).buffer) };
}

function widenAttribute(a: AttributeValue, opType: string, name: string): AttributeValue {
  if (a.kind === "tensor") return { kind: "tensor", value: widenTensor(a.value) };
  if (opType === "Cast" && name === "to" && a.kind === "int" && a.value === DataType.FLOAT) {
    return { kind: "int", value: DataType.DOUBLE };
  }
  return a;
}

/**
 * The same model computing in float64: every float32 input, output, initializer and Cast target
 * becomes float64. Used as the high-precision reference of gradient checks.
 */
export function widenToFloat64(model: ModelProto): ModelProto {
  const g = model.graph;
  const widenInfo = <T extends { elemType: DataType }>(v: T): T =>
    v.elemType === DataType.FLOAT ? { ...v, elemType: DataType.DOUBLE } : v;
  return {
    ...model,
    graph: {
      ...g,
      initializers: g.initializers.map(widenTensor),
      inputs: g.inputs.map(widenInfo),
      outputs: g.outputs.map(widenInfo),
      nodes: g.nodes.map((n) => ({
        ...n,
        attributes: Object.fromEntries(
          Object.entries(n.attributes).map(([k, a]) => [k, widenAttribute(a, n.opType, k)]),
        ),
      })),
    },
  };
}
