import { describe, expect, it } from "vitest";
import { classifyTorchBlas } from "./torch-blas.ts";

describe("classifyTorchBlas", () => {
  it("refuses the reference BLAS, saying to install libopenblas0-pthread", () => {
    const v = classifyTorchBlas(["/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0"], "BLAS_INFO=generic");
    expect(v).toMatchObject({ kind: "reference", valid: false });
    expect(v.reason).toContain("libopenblas0-pthread");
    expect(v.reason).toContain("/blas/libblas.so.3.11.0");
  });

  it("accepts OpenBLAS through the alternative, and MKL named in the build config", () => {
    expect(
      classifyTorchBlas(["/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3"], "BLAS_INFO=generic"),
    ).toEqual({ kind: "openblas", valid: true });
    expect(classifyTorchBlas([], "  - BLAS_INFO=mkl\n")).toEqual({ kind: "mkl", valid: true });
  });

  it("an unrecognisable BLAS is not valid either", () => {
    const v = classifyTorchBlas([], "");
    expect(v).toMatchObject({ kind: "unknown", valid: false });
    expect(v.reason).toContain("libopenblas0-pthread");
  });
});
