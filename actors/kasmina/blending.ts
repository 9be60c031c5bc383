import { BlendMode } from "../../contracts/enums.ts";
import type { BlendScheduleSpec, ConfidenceGate } from "../../contracts/messages/command.ts";

/** The blend modes Kasmina runs (the reference's four); UNSPECIFIED is not one. */
export type KnownBlendMode =
  | typeof BlendMode.RESIDUAL
  | typeof BlendMode.CONVEX
  | typeof BlendMode.CHANNEL
  | typeof BlendMode.CONFIDENCE;

/** Mode names for telemetry. */
export const blendModeNames: Readonly<Record<KnownBlendMode, string>> = {
  [BlendMode.RESIDUAL]: "residual",
  [BlendMode.CONVEX]: "convex",
  [BlendMode.CHANNEL]: "channel",
  [BlendMode.CONFIDENCE]: "confidence",
};

/** Why a blend request is refused. */
export type BlendRejectionReason =
  | "missing_field"
  | "unknown_blend_mode"
  | "alpha_out_of_bounds"
  | "alpha_vector_length"
  | "confidence_gate_missing_logits";

/** The blend fields of a GERMINATE, as the contract lets them through. */
export interface BlendRequest {
  readonly blendMode?: number | undefined;
  readonly alpha?: number | undefined;
  readonly alphaVector?: Float32Array | undefined;
  readonly schedule?: BlendScheduleSpec | undefined;
  readonly confidence?: ConfidenceGate | undefined;
}

/** A refused blend: the reason code and a sentence naming the field and its value. */
export interface BlendRejection {
  readonly reason: BlendRejectionReason;
  readonly detail: string;
}

const inUnit = (x: number) => Number.isFinite(x) && x >= 0 && x <= 1;

/**
 * Checks a GERMINATE's blend against the slot it grafts into; undefined when it is valid. The mode is
 * one of residual, convex, channel, confidence (anything else is `unknown_blend_mode`, never convex);
 * `alpha`, the schedule's `start` ≤ `end` and every α vector entry lie in [0, 1]; the α vector (required
 * for channel) has one entry per channel of the slot; the confidence mode needs its gate with the
 * controller's logits, at least two (top1 − top2).
 */
export function validateBlend(req: BlendRequest, slotWidth: number): BlendRejection | undefined {
  const mode = req.blendMode;
  if (mode === undefined)
    return { reason: "missing_field", detail: "payload.blendMode is required for GERMINATE" };
  if (!Object.hasOwn(blendModeNames, mode))
    return {
      reason: "unknown_blend_mode",
      detail: `payload.blendMode ${mode} is not residual, convex, channel or confidence`,
    };
  if (req.alpha !== undefined && !inUnit(req.alpha))
    return { reason: "alpha_out_of_bounds", detail: `payload.alpha ${req.alpha} is outside [0, 1]` };
  const schedule = req.schedule;
  if (schedule === undefined)
    return { reason: "missing_field", detail: "payload.schedule is required for GERMINATE" };
  if (!inUnit(schedule.start) || !inUnit(schedule.end) || schedule.start > schedule.end)
    return {
      reason: "alpha_out_of_bounds",
      detail: `payload.schedule goes from ${schedule.start} to ${schedule.end}: both must lie in [0, 1], start <= end`,
    };
  const vector = req.alphaVector;
  if (mode === BlendMode.CHANNEL && vector === undefined)
    return { reason: "missing_field", detail: "payload.alphaVector is required for the channel blend mode" };
  if (vector !== undefined) {
    if (vector.length !== slotWidth)
      return {
        reason: "alpha_vector_length",
        detail: `payload.alphaVector has ${vector.length} entries, the slot has width ${slotWidth}`,
      };
    const bad = vector.findIndex((a) => !inUnit(a));
    if (bad >= 0)
      return {
        reason: "alpha_out_of_bounds",
        detail: `payload.alphaVector[${bad}] ${vector[bad]} is outside [0, 1]`,
      };
  }
  if (mode === BlendMode.CONFIDENCE) {
    const gate = req.confidence;
    if (gate === undefined)
      return {
        reason: "missing_field",
        detail: "payload.confidence is required for the confidence blend mode",
      };
    if (gate.logits === undefined || gate.logits.length < 2)
      return {
        reason: "confidence_gate_missing_logits",
        detail: `payload.confidence.logits has ${gate.logits?.length ?? 0} entries: the confidence gate needs the controller's logits (at least 2)`,
      };
    if (gate.alphaLo > gate.alphaHi)
      return {
        reason: "alpha_out_of_bounds",
        detail: `payload.confidence.alphaLo ${gate.alphaLo} > alphaHi ${gate.alphaHi}`,
      };
  }
  return undefined;
}

/** A validated blend plan's fields that the effective α depends on. */
export interface BlendShape {
  readonly blendMode: number;
  readonly alphaVector?: Float32Array | undefined;
  readonly confidence?: ConfidenceGate | undefined;
}

/** gate = sigmoid(k·(top1 − top2 − tau)) over the logits' two largest entries. */
export function confidenceGate(gate: ConfidenceGate): number {
  const logits = gate.logits;
  if (logits === undefined || logits.length < 2)
    throw new RangeError("the confidence gate needs at least 2 logits");
  const sorted = [...logits].sort((a, b) => b - a);
  const margin = (sorted[0] as number) - (sorted[1] as number);
  return 1 / (1 + Math.exp(-gate.k * (margin - gate.tau)));
}

/**
 * The α each of the slot's `width` channels gets at base α `alpha`: residual and convex use `alpha` on
 * every channel; channel multiplies it by the α vector, clamped to [0, 1]; confidence multiplies it by the
 * confidence gate, clamped to [alphaLo, alphaHi]. Throws RangeError for a mode or vector that
 * {@link validateBlend} refuses.
 */
export function effectiveAlpha(shape: BlendShape, alpha: number, width: number): Float64Array {
  const out = new Float64Array(width);
  switch (shape.blendMode) {
    case BlendMode.RESIDUAL:
    case BlendMode.CONVEX:
      return out.fill(alpha);
    case BlendMode.CHANNEL: {
      const v = shape.alphaVector;
      if (v === undefined || v.length !== width)
        throw new RangeError(`the channel blend needs an alpha vector of ${width} entries`);
      for (let i = 0; i < width; i++) out[i] = Math.min(1, Math.max(0, (v[i] as number) * alpha));
      return out;
    }
    case BlendMode.CONFIDENCE: {
      const g = shape.confidence;
      if (g === undefined) throw new RangeError("the confidence blend needs its gate");
      return out.fill(Math.min(g.alphaHi, Math.max(g.alphaLo, alpha * confidenceGate(g))));
    }
    default:
      throw new RangeError(`blend mode ${shape.blendMode} is not residual, convex, channel or confidence`);
  }
}

/** Blend telemetry: the mode, the mean and p95 (nearest rank) of the per-channel α and the share of channels at α 0. */
export interface BlendStats {
  readonly mode: string;
  readonly alphaMean: number;
  readonly alphaP95: number;
  readonly sparsity: number;
}

/** {@link BlendStats} of a plan at base α `alpha` over a slot of `width` channels. */
export function blendStats(shape: BlendShape, alpha: number, width: number): BlendStats {
  const a = effectiveAlpha(shape, alpha, width);
  const sorted = [...a].sort((x, y) => x - y);
  const mean = sorted.reduce((s, x) => s + x, 0) / Math.max(1, sorted.length);
  const p95 = sorted[Math.max(0, Math.ceil(0.95 * sorted.length) - 1)] ?? 0;
  const zeros = sorted.filter((x) => x === 0).length;
  return {
    mode: blendModeNames[shape.blendMode as KnownBlendMode],
    alphaMean: mean,
    alphaP95: p95,
    sparsity: sorted.length === 0 ? 0 : zeros / sorted.length,
  };
}
