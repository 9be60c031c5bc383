import {
  type AttributeValue,
  DataType,
  type Dim,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from "./model-proto.ts";
import {
  fieldBytes,
  fieldFloat,
  fieldInt,
  fieldString,
  type ProtoField,
  readFields,
  readPackedFloats,
  readPackedInts,
} from "./proto-reader.ts";

const knownDataTypes = new Set<number>(Object.values(DataType));

function decodeTensor(buf: Uint8Array): TensorProto {
  let name = "";
  let dataType = 0;
  const dims: number[] = [];
  let raw: Uint8Array | undefined;
  const floats: number[] = [];
  const ints: number[] = [];
  for (const f of readFields(buf)) {
    if (f.field === 1) dims.push(...readPackedInts(f));
    else if (f.field === 2) dataType = fieldInt(f);
    else if (f.field === 4) floats.push(...readPackedFloats(f));
    else if (f.field === 5 || f.field === 7) ints.push(...readPackedInts(f));
    else if (f.field === 8) name = fieldString(f);
    else if (f.field === 9) raw = fieldBytes(f).slice();
    else if (f.field === 13 || f.field === 14)
      throw new Error(`tensor '${name}': external data is not supported`);
  }
  if (!knownDataTypes.has(dataType)) throw new Error(`tensor '${name}': unsupported data type ${dataType}`);
  const dt = dataType as DataType;
  if (raw === undefined) {
    if (dt === DataType.FLOAT) raw = new Uint8Array(Float32Array.from(floats).buffer);
    else if (dt === DataType.INT64)
      raw = new Uint8Array(BigInt64Array.from(ints.map((v) => BigInt(v))).buffer);
    else if (dt === DataType.INT32) raw = new Uint8Array(Int32Array.from(ints).buffer);
    else throw new Error(`tensor '${name}': data type ${dt} without raw_data is not supported`);
  }
  return { name, dataType: dt, dims, raw };
}

function decodeAttribute(buf: Uint8Array): [string, AttributeValue] {
  let name = "";
  let type = 0;
  const byField = new Map<number, ProtoField[]>();
  for (const f of readFields(buf)) {
    if (f.field === 1) name = fieldString(f);
    else if (f.field === 20) type = fieldInt(f);
    else byField.set(f.field, [...(byField.get(f.field) ?? []), f]);
  }
  const first = (field: number): ProtoField => {
    const f = byField.get(field)?.[0];
    if (f === undefined) throw new Error(`attribute '${name}': missing value field ${field}`);
    return f;
  };
  const all = (field: number): ProtoField[] => byField.get(field) ?? [];
  switch (type) {
    case 1:
      return [name, { kind: "float", value: fieldFloat(first(2)) }];
    case 2:
      return [name, { kind: "int", value: fieldInt(first(3)) }];
    case 3:
      return [name, { kind: "string", value: fieldString(first(4)) }];
    case 4:
      return [name, { kind: "tensor", value: decodeTensor(fieldBytes(first(5))) }];
    case 6:
      return [name, { kind: "floats", value: all(7).flatMap(readPackedFloats) }];
    case 7:
      return [name, { kind: "ints", value: all(8).flatMap(readPackedInts) }];
    default:
      throw new Error(`attribute '${name}': unsupported attribute type ${type}`);
  }
}

function decodeNode(buf: Uint8Array): NodeProto {
  const inputs: string[] = [];
  const outputs: string[] = [];
  let name = "";
  let opType = "";
  let domain = "";
  const attributes: Record<string, AttributeValue> = {};
  for (const f of readFields(buf)) {
    if (f.field === 1) inputs.push(fieldString(f));
    else if (f.field === 2) outputs.push(fieldString(f));
    else if (f.field === 3) name = fieldString(f);
    else if (f.field === 4) opType = fieldString(f);
    else if (f.field === 5) {
      const [k, v] = decodeAttribute(fieldBytes(f));
      attributes[k] = v;
    } else if (f.field === 7) domain = fieldString(f);
  }
  if (!opType) throw new Error(`node '${name}': missing op_type`);
  return { opType, inputs, outputs, name, domain, attributes };
}

function decodeValueInfo(buf: Uint8Array): ValueInfoProto {
  let name = "";
  let elemType = 0;
  const shape: Dim[] = [];
  for (const f of readFields(buf)) {
    if (f.field === 1) name = fieldString(f);
    else if (f.field === 2) {
      for (const t of readFields(fieldBytes(f))) {
        if (t.field !== 1) throw new Error(`value '${name}': only tensor types are supported`);
        for (const tt of readFields(fieldBytes(t))) {
          if (tt.field === 1) elemType = fieldInt(tt);
          else if (tt.field === 2) {
            for (const d of readFields(fieldBytes(tt))) {
              if (d.field !== 1) continue;
              let dim: Dim = "?";
              for (const x of readFields(fieldBytes(d))) {
                if (x.field === 1) dim = fieldInt(x);
                else if (x.field === 2) dim = fieldString(x);
              }
              shape.push(dim);
            }
          }
        }
      }
    }
  }
  if (!knownDataTypes.has(elemType)) throw new Error(`value '${name}': unsupported element type ${elemType}`);
  return { name, elemType: elemType as DataType, shape };
}

function decodeGraph(buf: Uint8Array): GraphProto {
  let name = "";
  const nodes: NodeProto[] = [];
  const initializers: TensorProto[] = [];
  const inputs: ValueInfoProto[] = [];
  const outputs: ValueInfoProto[] = [];
  for (const f of readFields(buf)) {
    if (f.field === 1) nodes.push(decodeNode(fieldBytes(f)));
    else if (f.field === 2) name = fieldString(f);
    else if (f.field === 5) initializers.push(decodeTensor(fieldBytes(f)));
    else if (f.field === 11) inputs.push(decodeValueInfo(fieldBytes(f)));
    else if (f.field === 12) outputs.push(decodeValueInfo(fieldBytes(f)));
  }
  return { name, nodes, initializers, inputs, outputs };
}

/** Decodes ONNX ModelProto bytes (the subset in `model-proto.ts`); anything else throws a clear error. */
export function decodeModel(bytes: Uint8Array): ModelProto {
  let irVersion = 0;
  let producerName = "";
  let graph: GraphProto | undefined;
  let opsetVersion = 0;
  const metadata: Record<string, string> = {};
  for (const f of readFields(bytes)) {
    if (f.field === 1) irVersion = fieldInt(f);
    else if (f.field === 2) producerName = fieldString(f);
    else if (f.field === 7) graph = decodeGraph(fieldBytes(f));
    else if (f.field === 8) {
      let domain = "";
      let version = 0;
      for (const o of readFields(fieldBytes(f))) {
        if (o.field === 1) domain = fieldString(o);
        else if (o.field === 2) version = fieldInt(o);
      }
      if (domain === "" || domain === "ai.onnx") opsetVersion = version;
    } else if (f.field === 14) {
      let key = "";
      let value = "";
      for (const p of readFields(fieldBytes(f))) {
        if (p.field === 1) key = fieldString(p);
        else if (p.field === 2) value = fieldString(p);
      }
      metadata[key] = value;
    }
  }
  if (graph === undefined) throw new Error("onnx model: missing graph");
  if (opsetVersion === 0) throw new Error("onnx model: missing default-domain opset import");
  return { irVersion, opsetVersion, producerName, graph, metadata };
}
