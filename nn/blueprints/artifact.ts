import { createHash } from "node:crypto";
import { BlueprintTier } from "../../contracts/enums.ts";
import type { BlueprintDescriptor } from "../../contracts/index.ts";
import { Graph, type Tensor } from "../graph/graph.ts";
import { toOnnxBytes } from "../graph/to-onnx.ts";
import { initialise } from "../params/init.ts";
import { createRng } from "../rng.ts";
import { blueprintTemplates } from "./library.ts";

/** How to instantiate a blueprint template. */
export interface BlueprintConfig {
  /** Template kind, e.g. "residual-mlp" (see `blueprintTemplates`). */
  readonly kind: string;
  readonly inputWidth: number;
  readonly hiddenWidth: number;
  /** Seed of the deterministic weight initialisation. */
  readonly initSeed: number;
}

/** A built kernel: ONNX bytes (data input "x", output "y", parameters as defaulted inputs) and its catalog entry. */
export interface BlueprintArtifact {
  readonly bytes: Uint8Array;
  readonly descriptor: BlueprintDescriptor;
}

/** The catalog id of a configuration: `<kind>-i<in>-h<hidden>-s<initSeed>`. */
export function blueprintId(c: BlueprintConfig): string {
  return `${c.kind}-i${c.inputWidth}-h${c.hiddenWidth}-s${c.initSeed}`;
}

function checkBound(value: number, field: string, b: { minValue: number; maxValue: number }): void {
  if (!Number.isInteger(value) || value < b.minValue || value > b.maxValue) {
    throw new Error(`blueprint ${field} must be an integer in [${b.minValue}, ${b.maxValue}], got ${value}`);
  }
}

/**
 * Builds a blueprint's kernel artifact and descriptor. The bytes are deterministic for a config (same
 * sha256); `createdAt` only goes into the descriptor.
 */
export function buildBlueprint(config: BlueprintConfig, createdAt: number): BlueprintArtifact {
  const template = blueprintTemplates[config.kind];
  if (!template) {
    throw new Error(
      `blueprint kind '${config.kind}' is unknown (known: ${Object.keys(blueprintTemplates).join(", ")})`,
    );
  }
  checkBound(config.inputWidth, "inputWidth", template.bounds.inputWidth);
  checkBound(config.hiddenWidth, "hiddenWidth", template.bounds.hiddenWidth);
  if (!Number.isSafeInteger(config.initSeed)) throw new Error("blueprint initSeed must be a safe integer");
  const specs = template.params(config.inputWidth, config.hiddenWidth);
  const rng = createRng(config.initSeed);
  const g = new Graph();
  const x = g.input("x", ["N", config.inputWidth]);
  const tensors = new Map<string, Tensor>();
  const values = new Map<string, Float32Array>();
  for (const s of specs) {
    tensors.set(s.name, g.input(s.name, s.shape));
    const data = new Float32Array(s.shape.reduce((a, b) => a * b, 1));
    initialise(data, s.shape, s.init, rng.fork(s.name));
    values.set(s.name, data);
  }
  const y = template.build(g, x, (name) => {
    const t = tensors.get(name);
    if (!t) throw new Error(`blueprint ${config.kind}: unknown parameter '${name}'`);
    return t;
  });
  const id = blueprintId(config);
  const bytes = toOnnxBytes(g, new Map([["y", y]]), {
    name: id,
    defaults: values,
    metadata: { blueprintId: id, kind: config.kind },
  });
  const parameterCount = [...values.values()].reduce((a, v) => a + v.length, 0);
  const descriptor: BlueprintDescriptor = {
    blueprintId: id,
    name: template.name,
    tier: template.tier,
    allowedParameters: { ...template.bounds },
    risk: template.risk,
    stage: 0,
    quarantineOnly: false,
    approvalRequired: template.tier === BlueprintTier.HIGH_RISK,
    description: template.description,
    parameterCount,
    inputWidth: config.inputWidth,
    outputWidth: config.inputWidth,
    artifactSha256: createHash("sha256").update(bytes).digest("hex"),
    createdAt,
  };
  return { bytes, descriptor };
}
