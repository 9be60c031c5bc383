import { describe, expect, it } from "vitest";
import { buildBlueprint } from "../../nn/blueprints/artifact.ts";
import { KernelPrewarmError } from "./errors.ts";
import { prewarmKernel } from "./kernel-prewarm.ts";

const { bytes, descriptor } = buildBlueprint(
  { kind: "residual-mlp", inputWidth: 8, hiddenWidth: 8, initSeed: 1 },
  1,
);

describe("prewarmKernel", () => {
  it("loads and runs a blueprint kernel in ONNX Runtime and returns the time it took", async () => {
    const ms = await prewarmKernel(bytes, descriptor);
    expect(ms).toBeGreaterThan(0);
  });

  it("refuses bytes ONNX Runtime cannot load", async () => {
    await expect(prewarmKernel(new Uint8Array([1, 2, 3]), descriptor)).rejects.toThrow(KernelPrewarmError);
    await expect(prewarmKernel(new Uint8Array([1, 2, 3]), descriptor)).rejects.toThrow(
      /does not load in ONNX Runtime/,
    );
  });

  it("refuses a kernel that does not run at the descriptor's input width", async () => {
    await expect(prewarmKernel(bytes, { ...descriptor, inputWidth: 5 })).rejects.toThrow(
      /does not run on x \[1, 5\]/,
    );
  });

  it("refuses a kernel whose output width differs from the descriptor's", async () => {
    await expect(prewarmKernel(bytes, { ...descriptor, outputWidth: 9 })).rejects.toThrow(
      "gave 8 outputs, expected 9",
    );
  });
});
