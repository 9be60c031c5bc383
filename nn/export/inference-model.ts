import type { Tensor } from "../graph/graph.ts";
import { toOnnxBytes } from "../graph/to-onnx.ts";
import { buildForward } from "../model/build.ts";
import type { SlotWiring } from "../model/slots.ts";
import type { ModelSpec } from "../model/spec.ts";
import type { ParameterStore } from "../params/store.ts";

/**
 * Exports a trained host with its fossilized seeds as a standalone ONNX inference model: input `x`
 * [N, inputWidth], output `logits`, every parameter (host and seed) an initializer with its current
 * value. Slots must be identity or "active" (fossilized); a slot still shadowing or blending is an
 * error naming it, since its output would depend on a per-step α.
 */
export function exportInferenceModel(
  spec: ModelSpec,
  wirings: ReadonlyMap<string, SlotWiring>,
  store: ParameterStore,
  metadata: Readonly<Record<string, string>> = {},
): Uint8Array {
  for (const [slot, w] of wirings) {
    if (w.kind !== "identity" && w.kind !== "active") {
      throw new Error(
        `export: slot '${slot}' is wired as ${w.kind}; only identity and active (fossilized) seeds export`,
      );
    }
  }
  const f = buildForward(spec, wirings, store, "eval");
  const freeze = new Map<string, Float32Array>();
  for (const name of f.params.keys()) freeze.set(name, store.get(name));
  return toOnnxBytes(f.graph, new Map<string, Tensor>([["logits", f.logits]]), {
    name: "esper_inference",
    freeze,
    metadata,
  });
}
