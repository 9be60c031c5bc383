import { describe, expect, it } from "vitest";
import { clipGradNorm, gradNorm } from "./grads.ts";

describe("gradient norm clipping", () => {
  it("matches torch.nn.utils.clip_grad_norm_ (torch 1.13: norm 13, grads [0.2308, 0.3077], [0.9231])", () => {
    const grads = new Map([
      ["a", Float32Array.from([3, 4])],
      ["b", Float32Array.from([12])],
    ]);
    expect(clipGradNorm(grads, 1)).toBe(13);
    const a = grads.get("a") ?? new Float32Array(0);
    const b = grads.get("b") ?? new Float32Array(0);
    expect(a[0]).toBeCloseTo(0.23076921701431274, 6);
    expect(a[1]).toBeCloseTo(0.307692289352417, 6);
    expect(b[0]).toBeCloseTo(0.923076868057251, 6);
    expect(gradNorm(grads)).toBeCloseTo(1, 5);
  });

  it("leaves gradients below the limit untouched and accepts records", () => {
    const grads = { a: Float32Array.from([0.3, 0.4]) };
    expect(clipGradNorm(grads, 1)).toBeCloseTo(0.5, 6);
    expect(grads.a).toEqual(Float32Array.from([0.3, 0.4]));
  });

  it("returns a non-finite norm without scaling, and rejects a bad limit", () => {
    const grads = { a: Float32Array.from([Number.NaN, 1]) };
    expect(clipGradNorm(grads, 1)).toBeNaN();
    expect(grads.a[1]).toBe(1);
    expect(() => clipGradNorm(grads, 0)).toThrow("clipGradNorm: maxNorm must be a finite number > 0");
  });
});
