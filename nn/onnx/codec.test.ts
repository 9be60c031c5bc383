import { describe, expect, it } from "vitest";
import { decodeModel } from "./decode.ts";
import { encodeModel } from "./encode.ts";
import { DataType, floatTensor, int64Tensor, type ModelProto } from "./model-proto.ts";

describe("ONNX ModelProto writer and reader", () => {
  it("round-trips nodes, attributes of every kind, initializers, symbolic dims and metadata", () => {
    const model: ModelProto = {
      irVersion: 8,
      opsetVersion: 17,
      producerName: "test",
      metadata: { a: "b" },
      graph: {
        name: "g",
        nodes: [
          {
            opType: "Gemm",
            inputs: ["x", "w", ""],
            outputs: ["y"],
            name: "n0",
            domain: "",
            attributes: {
              alpha: { kind: "float", value: 0.5 },
              transB: { kind: "int", value: 1 },
              mode: { kind: "string", value: "m" },
              perm: { kind: "ints", value: [1, 0, -1] },
              fs: { kind: "floats", value: [0.25, 2] },
              t: { kind: "tensor", value: int64Tensor("t", [2], [3, -4]) },
            },
          },
        ],
        initializers: [floatTensor("w", [2, 3], [1, 2, 3, 4, 5, 6])],
        inputs: [{ name: "x", elemType: DataType.FLOAT, shape: ["N", 3] }],
        outputs: [{ name: "y", elemType: DataType.FLOAT, shape: ["N", 2] }],
      },
    };
    const decoded = decodeModel(encodeModel(model));
    expect(decoded).toEqual(model);
  });

  it("rejects truncated bytes with the offset", () => {
    const bytes = encodeModel({
      irVersion: 8,
      opsetVersion: 17,
      producerName: "p",
      metadata: {},
      graph: { name: "g", nodes: [], initializers: [], inputs: [], outputs: [] },
    });
    expect(() => decodeModel(bytes.subarray(0, bytes.length - 3))).toThrow(/protobuf: truncated/);
  });
});
