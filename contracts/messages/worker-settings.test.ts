import { describe, expect, it } from "vitest";
import { validate } from "../codec.ts";
import { ContractError } from "../errors.ts";

describe("WorkerSettings", () => {
  it("gives the supervisor its own, larger shutdown grace", () => {
    const s = validate("WorkerSettings", {});
    expect(s.supervisor.shutdownGraceMs).toBeGreaterThan(s.worker.shutdownGraceMs);
    expect(
      validate("WorkerSettings", { supervisor: { shutdownGraceMs: 9_000 } }).supervisor.shutdownGraceMs,
    ).toBe(9_000);
  });

  it("refuses a supervisor grace not larger than the children's, naming the field", () => {
    const bad = () =>
      validate("WorkerSettings", {
        worker: { shutdownGraceMs: 10_000 },
        supervisor: { shutdownGraceMs: 10_000 },
      });
    expect(bad).toThrow(ContractError);
    expect(bad).toThrow(/supervisor\.shutdownGraceMs: must be larger than worker\.shutdownGraceMs \(10000\)/);
  });
});
