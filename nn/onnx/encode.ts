import type {
  AttributeValue,
  Dim,
  GraphProto,
  ModelProto,
  NodeProto,
  TensorProto,
  ValueInfoProto,
} from "./model-proto.ts";
import { ProtoWriter } from "./proto-writer.ts";

/** AttributeProto.AttributeType codes. */
const AttrType = { float: 1, int: 2, string: 3, tensor: 4, floats: 6, ints: 7 } as const;

function writeTensor(w: ProtoWriter, t: TensorProto): void {
  w.packedInts(1, t.dims);
  w.int(2, t.dataType);
  w.string(8, t.name);
  w.bytes(9, t.raw);
}

function writeAttribute(w: ProtoWriter, name: string, a: AttributeValue): void {
  w.string(1, name);
  w.int(20, AttrType[a.kind]);
  switch (a.kind) {
    case "float":
      w.float(2, a.value);
      break;
    case "int":
      w.int(3, a.value);
      break;
    case "string":
      w.string(4, a.value);
      break;
    case "tensor":
      w.message(5, (t) => writeTensor(t, a.value));
      break;
    case "floats":
      w.packedFloats(7, a.value);
      break;
    case "ints":
      w.packedInts(8, a.value);
      break;
  }
}

function writeNode(w: ProtoWriter, n: NodeProto): void {
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  if (n.name) w.string(3, n.name);
  w.string(4, n.opType);
  for (const [name, a] of Object.entries(n.attributes)) w.message(5, (m) => writeAttribute(m, name, a));
  if (n.domain) w.string(7, n.domain);
}

function writeDim(w: ProtoWriter, d: Dim): void {
  if (typeof d === "number") w.int(1, d);
  else w.string(2, d);
}

function writeValueInfo(w: ProtoWriter, v: ValueInfoProto): void {
  w.string(1, v.name);
  w.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, v.elemType);
      tensor.message(2, (shape) => {
        for (const d of v.shape) shape.message(1, (dim) => writeDim(dim, d));
      });
    }),
  );
}

function writeGraph(w: ProtoWriter, g: GraphProto): void {
  for (const n of g.nodes) w.message(1, (m) => writeNode(m, n));
  w.string(2, g.name);
  for (const t of g.initializers) w.message(5, (m) => writeTensor(m, t));
  for (const v of g.inputs) w.message(11, (m) => writeValueInfo(m, v));
  for (const v of g.outputs) w.message(12, (m) => writeValueInfo(m, v));
}

/** Encodes a model as ONNX protobuf bytes (a ModelProto). */
export function encodeModel(model: ModelProto): Uint8Array {
  const w = new ProtoWriter();
  w.int(1, model.irVersion);
  w.string(2, model.producerName);
  w.message(7, (m) => writeGraph(m, model.graph));
  w.message(8, (m) => {
    m.string(1, "");
    m.int(2, model.opsetVersion);
  });
  for (const [key, value] of Object.entries(model.metadata)) {
    w.message(14, (m) => {
      m.string(1, key);
      m.string(2, value);
    });
  }
  return w.finish();
}
