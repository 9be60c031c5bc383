import fc from "fast-check";
import {
  BlendMode,
  BlendSchedule,
  BlueprintTier,
  BusMessageType,
  CircuitBreakerState,
  CommandType,
  DeliveryGuarantee,
  EmergencyLevel,
  FieldReportOutcome,
  HealthStatus,
  MessagePriority,
  SeedLifecycleStage,
  SeedOperation,
  TelemetryLevel,
} from "../enums.ts";
import { KernelArtifactErrorCode } from "../messages/kernel.ts";
import type { MessageInput, MessageType } from "../registry.ts";

/** fast-check arbitraries producing valid messages of every Leyline type (for property tests). */

const code = <E extends Record<string, number>>(e: E) =>
  fc.constantFrom(...(Object.values(e).filter((c) => c !== 0) as Exclude<E[keyof E], 0>[]));
const id = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,40}$/);
const name = fc.stringMatching(/^[a-z][a-z0-9_.]{0,30}$/);
const text = fc.string({ maxLength: 60 });
/** msgpack carries -0 as the integer 0, so generated numbers avoid -0 (`x + 0` turns -0 into +0). */
const dbl = (min: number, max: number) => fc.double({ noNaN: true, min, max }).map((x) => x + 0);
const real = dbl(-1e9, 1e9);
const nonNeg = dbl(0, 1e9);
const unit = dbl(0, 1);
const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const count = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const ts = fc.integer({ min: 0, max: 4_102_444_800_000 });
const numMap = fc.dictionary(name, real, { maxKeys: 5 });
const textMap = fc.dictionary(name, text, { maxKeys: 5 });
const f32 = fc.float32Array({ noDefaultInfinity: true, noNaN: true, maxLength: 16 });
const bytes = fc.uint8Array({ maxLength: 64 });
const sha = fc.stringMatching(/^[0-9a-f]{64}$/);
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });

/** Drops keys whose value is undefined (exactOptionalPropertyTypes: absent, not undefined). */
function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
const record = <T extends Record<string, fc.Arbitrary<unknown>>>(shape: T) =>
  fc
    .record(shape)
    .map((o) => compact(o as { [K in keyof T]: T[K] extends fc.Arbitrary<infer U> ? U : never }));

const hardwareContext = record({
  deviceType: name,
  deviceId: id,
  totalMemoryGb: nonNeg,
  availableMemoryGb: nonNeg,
  temperatureCelsius: opt(real),
  utilizationPercent: dbl(0, 100),
  computeCapability: opt(u32),
});
const seedState = record({
  seedId: id,
  slotId: id,
  slotWidth: fc.integer({ min: 1, max: 65_536 }),
  stage: code(SeedLifecycleStage),
  blueprintId: opt(id),
  gradientNorm: nonNeg,
  learningRate: nonNeg,
  layerDepth: u32,
  alpha: unit,
  ageEpochs: u32,
  riskScore: unit,
  metrics: numMap,
});
const trainingMetrics = record({
  loss: real,
  accuracy: unit,
  gradientNorm: nonNeg,
  learningRate: nonNeg,
  lossDelta: real,
  lossEwma: real,
  lossVolatility: nonNeg,
  gradNormEwma: nonNeg,
  gradConflictRate: unit,
  samplesPerSecond: nonNeg,
  epochDurationMs: nonNeg,
  epochsTotal: u32,
  stepLatencyMs: nonNeg,
  kasminaLatencyMs: nonNeg,
  tamiyoLatencyMs: opt(nonNeg),
  hookLatencyMs: opt(nonNeg),
  optimizerFamily: name,
  momentum: unit,
  memoryRssBytes: count,
  heapUsedBytes: count,
  extra: numMap,
});
const systemStatePacket = record({
  version: u32,
  packetId: id,
  trainingRunId: id,
  experimentName: name,
  sourceSubsystem: name,
  currentEpoch: u32,
  globalStep: count,
  timestampMs: ts,
  validationAccuracy: unit,
  validationLoss: real,
  trainingLoss: real,
  hardwareContext,
  trainingMetrics,
  seedStates: fc.array(seedState, { maxLength: 4 }),
});
const schedule = record({
  shape: code(BlendSchedule),
  steps: fc.integer({ min: 1, max: 1000 }),
  start: unit,
  end: unit,
});
const confidence = fc
  .tuple(nonNeg, nonNeg, unit, unit)
  .map(([k, tau, a, b]) => ({ k, tau, alphaLo: Math.min(a, b), alphaHi: Math.max(a, b) }));
const seedOperation = record({
  kind: fc.constant("seed" as const),
  operation: code(SeedOperation),
  blueprintId: id,
  blendMode: fc.constantFrom(BlendMode.RESIDUAL, BlendMode.CONVEX),
  alpha: opt(unit),
  schedule: opt(schedule),
  resume: fc.boolean(),
  includeTeacher: fc.boolean(),
  parameters: numMap,
});
const payloads = {
  seed: seedOperation,
  optimizer: record({
    kind: fc.constant("optimizer" as const),
    optimizerId: id,
    learningRate: dbl(1e-6, 10),
    momentum: opt(unit),
    weightDecay: opt(nonNeg),
  }),
  circuitBreaker: record({
    kind: fc.constant("circuitBreaker" as const),
    desiredState: code(CircuitBreakerState),
    rationale: fc.string({ minLength: 1, maxLength: 40 }),
  }),
  rollback: record({
    kind: fc.constant("rollback" as const),
    mode: fc.constantFrom("fast" as const, "full" as const),
    toEpoch: opt(count),
    checkpointId: opt(id),
    reason: fc.string({ minLength: 1, maxLength: 40 }),
  }),
  pause: record({
    kind: fc.constant("pause" as const),
    resume: fc.boolean(),
    reason: fc.string({ minLength: 1, maxLength: 40 }),
  }),
  emergency: record({
    kind: fc.constant("emergency" as const),
    level: code(EmergencyLevel),
    reason: fc.string({ minLength: 1, maxLength: 40 }),
  }),
  structuralPruning: record({ kind: fc.constant("structuralPruning" as const), targetRatio: unit }),
};
const typeOfKind = {
  seed: CommandType.SEED,
  optimizer: CommandType.OPTIMIZER,
  circuitBreaker: CommandType.CIRCUIT_BREAKER,
  rollback: CommandType.ROLLBACK,
  pause: CommandType.PAUSE,
  emergency: CommandType.EMERGENCY,
  structuralPruning: CommandType.STRUCTURAL_PRUNING,
} as const;
const decisionMetadata = record({
  policy: record({
    version: name,
    digest: sha,
    action: name,
    paramDelta: opt(real),
    valueEstimate: opt(real),
    latencyMs: nonNeg,
  }),
  risk: record({ reason: name, score: unit, index: opt(u32) }),
  blend: opt(record({ methodIndex: u32, scheduleStart: unit, scheduleEnd: unit })),
  coverage: record({ featureCoverage: unit, byType: numMap }),
  selection: opt(record({ seedIndex: u32, seedScore: real, blueprintIndex: u32 })),
});
const security = record({
  signature: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString("base64")),
  nonce: id,
  issuedAt: ts,
  freshnessWindowMs: fc.integer({ min: 1, max: 3_600_000 }),
});
const adaptationCommand = fc.oneof(...Object.values(payloads)).chain((payload) =>
  record({
    version: u32,
    commandId: id,
    commandType: fc.constant(typeOfKind[payload.kind]),
    trainingRunId: id,
    targetSeedId: payload.kind === "seed" ? id : opt(id),
    executionDeadlineMs: u32,
    issuedBy: name,
    payload: fc.constant(payload),
    decision: opt(decisionMetadata),
    security,
  }),
);
const settingsPath = fc.stringMatching(/^[a-z][A-Za-z0-9]{0,12}(\.[a-z][A-Za-z0-9]{0,12}){0,2}$/);
const settingsValue = fc.oneof(real, fc.boolean(), text);
const settingsRequest = fc.oneof(
  record({ requestId: id, verb: fc.constant("get" as const), requestedBy: name }),
  record({
    requestId: id,
    verb: fc.constant("set" as const),
    requestedBy: name,
    changes: fc.array(record({ path: settingsPath, value: settingsValue }), { minLength: 1, maxLength: 4 }),
    expectedRevision: opt(u32),
    security: opt(security),
  }),
);
const settingsReply = fc.oneof(
  record({
    requestId: id,
    ok: fc.constant(true),
    revision: u32,
    settings: record({
      revision: opt(u32),
      timeouts: opt(record({ decisionDeadlineMs: opt(fc.integer({ min: 1, max: 60_000 })) })),
    }),
    changed: opt(
      fc.array(record({ path: settingsPath, from: settingsValue, to: settingsValue }), { maxLength: 4 }),
    ),
  }),
  record({
    requestId: id,
    ok: fc.constant(false),
    revision: u32,
    error: record({ field: text, reason: text }),
  }),
);
const metricPoint = record({
  name,
  value: real,
  unit: opt(fc.constantFrom("ms", "count", "ratio")),
  attributes: opt(textMap),
});
const telemetryEvent = record({
  eventId: name,
  description: text,
  level: code(TelemetryLevel),
  attributes: opt(textMap),
});
const traceSpan = fc.tuple(ts, fc.integer({ min: 0, max: 1e6 })).chain(([start, d]) =>
  record({
    spanId: id,
    parentSpanId: opt(id),
    name,
    startMs: fc.constant(start),
    endMs: fc.constant(start + d),
    attributes: opt(textMap),
  }),
);
const systemHealth = record({ status: code(HealthStatus), summary: text, indicators: opt(textMap) });
const telemetryPacket = record({
  packetId: id,
  timestampMs: ts,
  sourceSubsystem: name,
  level: code(TelemetryLevel),
  priority: code(MessagePriority),
  metrics: fc.array(metricPoint, { maxLength: 5 }),
  events: fc.array(telemetryEvent, { maxLength: 3 }),
  spans: fc.array(traceSpan, { maxLength: 2 }),
  systemHealth: opt(systemHealth),
});
const mitigationAction = record({ actionType: name, rationale: text });
const kernelReady = record({
  status: fc.constant("ready" as const),
  requestId: id,
  blueprintId: id,
  artifactRef: id,
  checksum: sha,
  guardDigest: sha,
  prewarmP50Ms: nonNeg,
  prewarmP95Ms: nonNeg,
});
const kernelError = record({
  status: fc.constant("error" as const),
  requestId: id,
  blueprintId: id,
  code: fc.constantFrom(...KernelArtifactErrorCode.options),
  reason: fc.string({ minLength: 1, maxLength: 40 }),
});
const bounds = fc.tuple(real, real).map(([a, b]) => ({ minValue: Math.min(a, b), maxValue: Math.max(a, b) }));
const lifecycle = fc.constantFrom(
  "created",
  "preflight",
  "running",
  "draining",
  "stopped",
  "failed" as const,
);
const subject = fc.stringMatching(/^[a-z]{1,8}(\.[a-z0-9_-]{1,8}){0,3}$/);

const seedReport = record({
  reportId: id,
  trainingRunId: id,
  seedId: id,
  stage: code(SeedLifecycleStage),
  epoch: u32,
  globalStep: count,
  steps: u32,
  alpha: unit,
  loss: real,
  hostLoss: real,
  lossDelta: real,
  seedGradientNorm: nonNeg,
  hostGradientNorm: nonNeg,
  gradientCosine: dbl(-1, 1),
  isolationLeak: nonNeg,
  interfaceGradientNorm: nonNeg,
  gradientShare: unit,
  conflicts: u32,
  conflictRatio: unit,
  parameterCount: count,
  nonFiniteGradients: fc.boolean(),
  issuedAt: ts,
});
const seedStage = code(SeedLifecycleStage);
const transition = record({ from: seedStage, to: seedStage, reason: text, atMs: ts });
const kasminaState = record({
  trainingRunId: id,
  savedAt: ts,
  slots: fc.array(
    record({
      slotId: id,
      seed: opt(
        record({
          seedId: id,
          stage: seedStage,
          history: fc.array(transition, { maxLength: 3 }),
          embargoUntilMs: opt(ts),
        }),
      ),
    }),
    { maxLength: 3 },
  ),
  seeds: fc.array(
    record({
      seedId: id,
      slotId: id,
      generation: count,
      nextSequence: count,
      plan: opt(
        record({
          commandId: id,
          blueprintId: id,
          blendMode: code(BlendMode),
          schedule,
          alphaVector: opt(f32),
          confidence: opt(confidence),
          includeTeacher: fc.boolean(),
        }),
      ),
      pendingPrefetch: opt(record({ requestId: id, blueprintId: id })),
      kernel: opt(record({ blueprintId: id, artifactRef: id, checksum: sha })),
      reports: fc.array(seedReport, { maxLength: 2 }),
    }),
    { maxLength: 3 },
  ),
  timeline: fc.array(
    transition.map((t) => ({ seedId: "s1", ...t })),
    { maxLength: 3 },
  ),
  nonces: record({
    entries: fc.array(record({ nonce: id, expiresAtMs: ts }), { maxLength: 3 }),
    evictions: count,
  }),
  applied: record({
    commands: fc.array(count, { maxLength: 3 }),
    reports: fc.array(count, { maxLength: 3 }),
  }),
});

const riskFinding = record({ evaluator: name, reason: name, detail: text });
const findings = fc.array(riskFinding, { maxLength: 3 });
/** The fields every TamiyoDecision carries besides its outcome. */
const decisionBase = {
  packetId: id,
  decisionId: id,
  trainingRunId: id,
  policyVersion: name,
  latencyMs: nonNeg,
  latencies: record({ policyMs: nonNeg, riskMs: nonNeg, commandMs: nonNeg }),
  risk: record({
    score: unit,
    vetoes: findings,
    downgrades: findings,
    annotations: findings,
    conservative: fc.boolean(),
  }),
};

/** One arbitrary per message type. */
export const arbitraries: { readonly [T in MessageType]: fc.Arbitrary<MessageInput<T>> } = {
  SystemStatePacket: systemStatePacket,
  SeedState: seedState,
  HardwareContext: hardwareContext,
  AdaptationCommand: adaptationCommand,
  CommandSeedOperation: seedOperation,
  DecisionMetadata: decisionMetadata,
  TamiyoDecision: fc.oneof(
    record({
      ...decisionBase,
      outcome: fc.constant("command" as const),
      command: adaptationCommand,
    }),
    record({
      ...decisionBase,
      outcome: fc.constant("noAction" as const),
      reason: fc.string({ minLength: 1, maxLength: 40 }),
    }),
  ),
  EmergencySignal: record({
    version: u32,
    signalId: id,
    level: code(EmergencyLevel),
    reason: fc.string({ minLength: 1, maxLength: 40 }),
    origin: name,
    triggeredAt: ts,
    monotonicTimeMs: count,
    runId: id,
    attributes: textMap,
  }),
  FieldReport: record({
    version: u32,
    reportId: id,
    commandId: id,
    trainingRunId: id,
    seedId: opt(id),
    blueprintId: opt(id),
    outcome: code(FieldReportOutcome),
    delta: record({
      lossDelta: real,
      lossDeltaMin: real,
      lossDeltaMax: real,
      accuracyDelta: real,
      epochs: u32,
      criticalEvents: u32,
      avgDecisionLatencyMs: nonNeg,
    }),
    metrics: numMap,
    observationWindowEpochs: u32,
    issuedAt: ts,
    tamiyoPolicyVersion: name,
    followUpActions: fc.array(mitigationAction, { maxLength: 3 }),
    notes: text,
  }),
  MitigationAction: mitigationAction,
  KernelPrefetchRequest: record({ requestId: id, blueprintId: id, trainingRunId: id, issuedAt: ts }),
  KernelArtifactReady: kernelReady,
  KernelArtifactError: kernelError,
  KernelPrefetchResult: fc.oneof(kernelReady, kernelError),
  KernelCatalogUpdate: record({
    blueprintId: id,
    artifactRef: id,
    checksum: sha,
    guardDigest: sha,
    compileMs: nonNeg,
    prewarmMs: nonNeg,
  }),
  BlueprintDescriptor: record({
    blueprintId: id,
    name,
    tier: code(BlueprintTier),
    allowedParameters: fc.dictionary(name, bounds, { maxKeys: 4 }),
    risk: unit,
    stage: u32,
    quarantineOnly: fc.boolean(),
    approvalRequired: fc.boolean(),
    description: text,
    parameterCount: count,
    inputWidth: u32,
    outputWidth: u32,
    artifactSha256: sha,
    createdAt: ts,
  }),
  PolicyUpdate: record({
    version: u32,
    policyId: id,
    trainingRunId: id,
    issuedAt: ts,
    tamiyoPolicyVersion: name,
    payload: bytes,
    payloadSha256: sha,
  }),
  TelemetryPacket: telemetryPacket,
  MetricPoint: metricPoint,
  TelemetryEvent: telemetryEvent,
  TraceSpan: traceSpan,
  SystemHealth: systemHealth,
  BusEnvelope: record({ messageType: code(BusMessageType), payload: bytes, attributes: textMap }),
  EventEnvelope: record({
    eventId: id,
    eventType: name,
    sourceSubsystem: name,
    createdAt: ts,
    processingDeadlineMs: nonNeg,
    ttlMs: nonNeg,
    payload: bytes,
    payloadType: name,
    contentEncoding: name,
    priority: code(MessagePriority),
    routingKeys: fc.array(name, { maxLength: 3 }),
    correlationId: opt(id),
    deliveryGuarantee: code(DeliveryGuarantee),
    maxAttempts: u32,
    currentAttempt: u32,
  }),
  DeadLetter: record({
    originalSubject: subject,
    stream: name,
    consumer: name,
    deliveries: u32,
    reason: fc.string({ minLength: 1, maxLength: 40 }),
    headers: textMap,
    payload: bytes,
    deadLetteredAt: ts,
    streamSequence: count,
  }),
  SeedDirective: record({
    directiveId: id,
    trainingRunId: id,
    seedId: id,
    slotId: id,
    sequence: count,
    action: fc.constant("graft" as const),
    stage: code(SeedLifecycleStage),
    kernel: record({ blueprintId: id, artifactRef: id, checksum: sha }),
    blendMode: fc.constantFrom(BlendMode.RESIDUAL, BlendMode.CHANNEL),
    alpha: unit,
    alphaVector: f32,
    schedule: opt(schedule),
    confidence: opt(confidence),
    learningRate: opt(nonNeg),
    includeTeacher: fc.boolean(),
    commandId: opt(id),
    issuedAt: ts,
  }),
  SeedReport: seedReport,
  Heartbeat: record({
    actor: name,
    instanceId: id,
    runId: opt(id),
    pid: fc.integer({ min: 1, max: 4_194_304 }),
    state: lifecycle,
    uptimeMs: count,
    timestampMs: ts,
    lastError: opt(text),
    mailboxDepths: fc.dictionary(name, count, { maxKeys: 4 }),
  }),
  ControlRequest: record({ requestId: id, verb: fc.constantFrom("ping", "status", "drain" as const) }),
  ControlReply: record({
    requestId: id,
    actor: name,
    instanceId: id,
    ok: fc.boolean(),
    state: lifecycle,
    message: text,
  }),
  WorkerSettings: record({
    revision: opt(u32),
    worker: opt(
      record({
        concurrency: opt(fc.integer({ min: 1, max: 256 })),
        defaultTimeoutMs: opt(fc.integer({ min: 1, max: 600_000 })),
      }),
    ),
    cadence: opt(record({ heartbeatIntervalMs: opt(fc.integer({ min: 50, max: 60_000 })) })),
  }),
  SettingsRequest: settingsRequest,
  SettingsReply: settingsReply,
  KasminaState: kasminaState,
};
