import { BlendMode as BlendCode } from "../../contracts/enums.ts";
import type { SeedDirective } from "../../contracts/messages/seed.ts";
import type { BlendMode, ConfidenceGate } from "../../nn/model/slots.ts";

/** nn's blend mode for a directive's `blendMode` code; UNSPECIFIED or an unknown code throws. */
export function blendModeOf(code: SeedDirective["blendMode"]): BlendMode {
  switch (code) {
    case BlendCode.RESIDUAL:
      return "residual";
    case BlendCode.CONVEX:
      return "convex";
    case BlendCode.CHANNEL:
      return "channel";
    case BlendCode.CONFIDENCE:
      return "confidence";
    default:
      throw new Error(`blendMode ${code} is not a blend mode (RESIDUAL, CONVEX, CHANNEL or CONFIDENCE)`);
  }
}

/** nn's confidence gate from a directive's `confidence` (k → sharpness, alphaLo/Hi → lo/hi). */
export function confidenceGateOf(c: NonNullable<SeedDirective["confidence"]>): ConfidenceGate {
  return { sharpness: c.k, tau: c.tau, lo: c.alphaLo, hi: c.alphaHi };
}
