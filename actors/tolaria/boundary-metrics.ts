/**
 * The metric names of Tolaria's step and epoch boundaries (milliseconds), one home for Tolaria, which
 * emits them, and `esper bench loop`, which reads them from a run's telemetry.
 */
export const BOUNDARY_METRICS = {
  /** Building and validating the epoch's SystemStatePacket. */
  stateAssembly: "tolaria.packet.assembly_ms",
  /** The `tamiyo.evaluate` request, from send to reply (or to the timeout). */
  decisionRoundTrip: "tolaria.decision.round_trip_ms",
  /** Applying the directives due at one step boundary (only boundaries that had any). */
  directiveApply: "tolaria.directives.apply_ms",
  /** The whole epoch boundary: validation, state packet, publish and the Tamiyo round trip. */
  epochBoundary: "tolaria.epoch.boundary_ms",
} as const;
