import { Encoder } from "@msgpack/msgpack";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SystemLimits } from "./budgets.ts";
import { decode, encode, extensionCodec, validate } from "./codec.ts";
import { ContractError } from "./errors.ts";
import { type MessageType, messageSchemas } from "./registry.ts";
import { arbitraries } from "./testing/arbitraries.ts";
import { sampleOf } from "./testing/samples.ts";

const types = Object.keys(messageSchemas) as MessageType[];
const rawEncoder = new Encoder({ extensionCodec, ignoreUndefined: true });

function rejection(fn: () => unknown): ContractError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ContractError) return err;
    throw err;
  }
  throw new Error("expected a ContractError, got success");
}

describe("codec round trip", () => {
  it.each(types)("%s survives encode → decode unchanged", (type) => {
    fc.assert(
      fc.property(arbitraries[type] as fc.Arbitrary<unknown>, (msg) => {
        const bytes = encode(type, msg as never);
        expect(decode(type, bytes)).toEqual(validate(type, msg));
      }),
      { numRuns: 60, seed: 42 },
    );
  });

  it("keeps Float32Array a Float32Array with the same values", () => {
    const directive = sampleOf("SeedDirective");
    const alphaVector = new Float32Array([0, 0.25, 1, 1e-7, 3.5]);
    const back = decode("SeedDirective", encode("SeedDirective", { ...directive, alphaVector }));
    expect(back.alphaVector).toBeInstanceOf(Float32Array);
    expect(Array.from(back.alphaVector ?? [])).toEqual(Array.from(alphaVector));
  });

  it("fills WorkerSettings defaults from an empty object", () => {
    const settings = decode("WorkerSettings", encode("WorkerSettings", {}));
    expect(settings.worker.concurrency).toBe(4);
    expect(settings.security.nonceMaxEntries).toBe(100_000);
  });
});

describe("codec rejects bad input with the field path", () => {
  const packet = sampleOf("SystemStatePacket", 7);
  const seed = sampleOf("SeedState", 7);
  const command = sampleOf("AdaptationCommand", 3);
  const telemetry = sampleOf("TelemetryPacket", 5);
  const directive = sampleOf("SeedDirective", 5);
  const cases: [string, MessageType, unknown, string][] = [
    ["unknown top-level key", "SystemStatePacket", { ...packet, extra: 1 }, "extra"],
    [
      "unknown nested key",
      "SystemStatePacket",
      { ...packet, hardwareContext: { ...packet.hardwareContext, gpu: "x" } },
      "hardwareContext.gpu",
    ],
    ["empty id", "SystemStatePacket", { ...packet, packetId: "" }, "packetId"],
    ["whitespace-padded id", "SystemStatePacket", { ...packet, trainingRunId: " run " }, "trainingRunId"],
    ["NaN", "SystemStatePacket", { ...packet, validationLoss: Number.NaN }, "validationLoss"],
    ["Infinity", "SystemStatePacket", { ...packet, trainingLoss: Number.POSITIVE_INFINITY }, "trainingLoss"],
    [
      "wrong enum code in array",
      "SystemStatePacket",
      { ...packet, seedStates: [{ ...seed, stage: 12 }] },
      "seedStates[0].stage",
    ],
    ["enum code 0 (unset)", "SeedState", { ...seed, stage: 0 }, "stage"],
    ["accuracy above 1", "SystemStatePacket", { ...packet, validationAccuracy: 1.5 }, "validationAccuracy"],
    ["missing field", "SeedState", { ...seed, seedId: undefined }, "seedId"],
    ["over-long id", "SeedState", { ...seed, seedId: "s".repeat(SystemLimits.maxIdLength + 1) }, "seedId"],
    [
      "too many extra metrics",
      "SystemStatePacket",
      {
        ...packet,
        trainingMetrics: {
          ...packet.trainingMetrics,
          extra: Object.fromEntries(
            Array.from({ length: SystemLimits.maxMapEntries + 1 }, (_, i) => [`m${i}`, i]),
          ),
        },
      },
      "trainingMetrics.extra",
    ],
    ["command payload kind mismatch", "AdaptationCommand", { ...command, commandType: 99 }, "commandType"],
    [
      "bad signature",
      "AdaptationCommand",
      { ...command, security: { ...command.security, signature: "abc" } },
      "security.signature",
    ],
    [
      "zero freshness",
      "AdaptationCommand",
      { ...command, security: { ...command.security, freshnessWindowMs: 0 } },
      "security.freshnessWindowMs",
    ],
    ["wrong telemetry priority", "TelemetryPacket", { ...telemetry, priority: 9 }, "priority"],
    [
      "over-long text",
      "TelemetryPacket",
      { ...telemetry, events: [{ eventId: "a.b", description: "x".repeat(5000), level: 1 }] },
      "events[0].description",
    ],
    ["graft without kernel", "SeedDirective", { ...directive, kernel: undefined }, "kernel"],
    [
      "NaN in Float32Array",
      "SeedDirective",
      { ...directive, alphaVector: new Float32Array([0.5, Number.NaN]) },
      "alphaVector",
    ],
    [
      "number array instead of Float32Array",
      "SeedDirective",
      { ...directive, alphaVector: [0.5] },
      "alphaVector",
    ],
    ["invalid worker setting", "WorkerSettings", { worker: { concurrency: 0 } }, "worker.concurrency"],
    ["unknown worker setting", "WorkerSettings", { cadence: { heartbeatMs: 5 } }, "cadence.heartbeatMs"],
  ];

  it.each(cases)("%s (%s) → %s", (_label, type, value, field) => {
    const err = rejection(() => encode(type, value as never));
    expect(err.messageType).toBe(type);
    expect(err.field).toBe(field);
  });

  it("a seed command requires a target seed and a GERMINATE needs a blueprint", () => {
    const seedCommand = sampleOf("AdaptationCommand", 11);
    const seedOp = sampleOf("CommandSeedOperation", 11);
    const base = { ...seedCommand, commandType: 1 as const, payload: { ...seedOp, operation: 1 as const } };
    const { targetSeedId: _drop, ...noTarget } = { ...base, targetSeedId: "s1" };
    expect(rejection(() => encode("AdaptationCommand", noTarget)).field).toBe("targetSeedId");
    const { blueprintId: _bp, ...noBlueprint } = seedOp;
    const err = rejection(() =>
      encode("AdaptationCommand", { ...base, targetSeedId: "s1", payload: { ...noBlueprint, operation: 1 } }),
    );
    expect(err.field).toBe("payload.blueprintId");
  });

  it("a bad map entry is reported on the map field with the key in the reason", () => {
    const err = rejection(() =>
      encode("SeedState", { ...sampleOf("SeedState"), metrics: { ok: 1, bad: Number.NaN } }),
    );
    expect(err.field).toBe("metrics");
    expect(err.reason).toBe("key 'bad' must be a finite number");
  });

  it("decode rejects bytes that are not msgpack", () => {
    const err = rejection(() => decode("Heartbeat", new Uint8Array([0xc1])));
    expect(err.messageType).toBe("Heartbeat");
    expect(err.field).toBe("<root>");
    expect(err.reason).toMatch(/not valid msgpack/);
  });

  it("decode rejects a payload over the size limit before parsing it", () => {
    const err = rejection(() =>
      decode("TelemetryPacket", new Uint8Array(SystemLimits.maxMessageSizeBytes + 1)),
    );
    expect(err.reason).toMatch(/exceeds the limit/);
  });

  it("encode rejects a message that would exceed the size limit", () => {
    const payload = new Uint8Array(SystemLimits.maxMessageSizeBytes);
    const err = rejection(() => encode("PolicyUpdate", { ...sampleOf("PolicyUpdate"), payload }));
    expect(err.reason).toMatch(/exceeds the limit/);
  });

  it("decode validates: a valid encoding of the wrong message type is rejected", () => {
    const bytes = encode("Heartbeat", sampleOf("Heartbeat"));
    expect(rejection(() => decode("SeedState", bytes)).messageType).toBe("SeedState");
  });
});

describe("every message type rejects a bad value in each of its fields", () => {
  const rows = types.flatMap((type) => {
    const sample = sampleOf(type, 3) as Record<string, unknown>;
    return [
      ...Object.keys(sample).map((field) => [type, field, { ...sample, [field]: null }, field] as const),
      [type, "<unknown key>", { ...sample, notAField: 1 }, "notAField"] as const,
    ];
  });

  it.each(rows)("%s.%s", (type, _label, value, field) => {
    const err = rejection(() => encode(type, value as never));
    expect(err.messageType).toBe(type);
    expect(err.field).toBe(field);
    expect(rejection(() => decode(type, encodeRaw(value))).field).toBe(field);
  });
});

/** msgpack bytes of an arbitrary value, bypassing validation (what a faulty or hostile peer sends). */
function encodeRaw(value: unknown): Uint8Array {
  return rawEncoder.encode(value);
}
