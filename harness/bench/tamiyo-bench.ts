import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startActor } from "../../actors/runtime/actor.ts";
import { bootstrapSettings } from "../../actors/runtime/settings-bootstrap.ts";
import { buildFeatures } from "../../actors/tamiyo/features.ts";
import { jobApprovals } from "../../actors/tamiyo/job-approvals.ts";
import { createTamiyoActor } from "../../actors/tamiyo/main.ts";
import { createOnnxPolicy, InferenceTimeoutError, infer } from "../../actors/tamiyo/onnx-policy.ts";
import { loadPolicyDirectory } from "../../actors/tamiyo/policy-swap.ts";
import { emptyRunMemory, observePacket, type RunMemory } from "../../actors/tamiyo/run-memory.ts";
import { PLATEAU, POLICY_DIR_ENV, SHIPPED_POLICY_DIR, WAL_DIR_ENV } from "../../actors/tamiyo/settings.ts";
import { buildLibrary, libraryConfigs } from "../../actors/urza/library.ts";
import { connectBus } from "../../bus/connection.ts";
import { ensureResources } from "../../bus/jetstream/ensure.ts";
import { openBucket } from "../../bus/kv.ts";
import { startLocalNatsServer } from "../../bus/server/local-nats-server.ts";
import { BusRequestError, request } from "../../bus/typed.ts";
import { PerformanceBudgets } from "../../contracts/budgets.ts";
import { BlendSchedule, type BlueprintDescriptor, type SystemStatePacket } from "../../contracts/index.ts";
import { round, summarize } from "./stats.ts";

/** Options of {@link benchTamiyo}. */
export interface TamiyoBenchOptions {
  /** The recorded state packets of one run, replayed in order. */
  readonly packets: readonly SystemStatePacket[];
  /** Times the packets are sent (each pass as a fresh training run). */
  readonly passes: number;
  /** The policy directory (default: the shipped policy). */
  readonly policyDir?: string;
}

/** Latency figures in ms. */
export interface LatencyFigures {
  readonly n: number;
  readonly mean: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
}

/** What `esper bench tamiyo` prints. */
export interface TamiyoBenchReport {
  readonly bench: "tamiyo";
  readonly policy: { readonly version: string; readonly sha256: string };
  /** ORT session.run of one feature vector (intra-op threads 1). */
  readonly inferenceMs: LatencyFigures;
  /** The ONNX policy's decide: features, inference with its deadline, decoding. */
  readonly decideMs: LatencyFigures;
  /** `tamiyo.evaluate` request → TamiyoDecision reply over the bus, Tamiyo in this process. */
  readonly roundTripMs: LatencyFigures;
  readonly commands: number;
  /** Decisions that failed with InferenceTimeoutError (not in decideMs). */
  readonly decideTimeouts: number;
  /** Evaluate requests answered with an error (inference timeouts under load; not in roundTripMs). */
  readonly roundTripErrors: number;
  readonly goals: { readonly inferenceP95Ms: 1; readonly roundTripP95Ms: 3; readonly budgetMs: number };
  readonly met: { readonly inference: boolean; readonly roundTrip: boolean };
}

function figures(samples: number[]): LatencyFigures {
  const s = summarize(samples);
  return { n: s.n, mean: round(s.mean, 4), p50: round(s.p50, 4), p95: round(s.p95, 4), p99: round(s.p99, 4) };
}

const WARMUP = 20;

/**
 * Measures Tamiyo's ONNX policy: inference alone and decide over the recorded packets in this
 * process, then the whole evaluate round trip over a private nats-server with Tamiyo in process (the
 * Urza library in its catalog; commands published on the command stream as in a run).
 */
export async function benchTamiyo(opts: TamiyoBenchOptions): Promise<TamiyoBenchReport> {
  const policyDir = opts.policyDir ?? SHIPPED_POLICY_DIR;
  const catalog = buildLibrary(libraryConfigs(), 0).map((e) => e.descriptor);
  const model = await loadPolicyDirectory(policyDir);
  const inference: number[] = [];
  const decide: number[] = [];
  let decideTimeouts = 0;
  try {
    const policy = createOnnxPolicy(model, {
      plateau: PLATEAU,
      schedule: { shape: BlendSchedule.LINEAR, steps: 20, start: 0, end: 1 },
      deadlineMs: PerformanceBudgets.tamiyoInferenceMs,
      now: () => performance.now(),
    });
    for (let pass = 0; pass < opts.passes; pass++) {
      let memory: RunMemory | undefined;
      for (const packet of opts.packets) {
        memory = observePacket(memory ?? emptyRunMemory(packet.trainingRunId), packet);
        const input = { packet, catalog, approved: jobApprovals(packet.experimentName), memory };
        const vector = buildFeatures(input, PLATEAU).vector;
        let t0 = performance.now();
        await infer(model, vector);
        inference.push(performance.now() - t0);
        t0 = performance.now();
        try {
          await policy.decide(input);
          decide.push(performance.now() - t0);
        } catch (err) {
          if (!(err instanceof InferenceTimeoutError)) throw err;
          decideTimeouts++;
        }
      }
    }
  } finally {
    await model.session.release();
  }
  const roundTrip = await busRoundTrips(opts, policyDir, catalog);
  const report = {
    inferenceMs: figures(inference.slice(WARMUP)),
    decideMs: figures(decide.slice(WARMUP)),
    roundTripMs: figures(roundTrip.samples.slice(WARMUP)),
  };
  return {
    bench: "tamiyo",
    policy: { version: model.identity.version, sha256: model.identity.digest },
    ...report,
    commands: roundTrip.commands,
    decideTimeouts,
    roundTripErrors: roundTrip.errors,
    goals: { inferenceP95Ms: 1, roundTripP95Ms: 3, budgetMs: PerformanceBudgets.tamiyoInferenceMs },
    met: { inference: report.inferenceMs.p95 <= 1, roundTrip: report.roundTripMs.p95 <= 3 },
  };
}

async function busRoundTrips(
  opts: TamiyoBenchOptions,
  policyDir: string,
  catalog: readonly BlueprintDescriptor[],
): Promise<{ samples: number[]; commands: number; errors: number }> {
  const storeDir = await mkdtemp(join(tmpdir(), "esper-bench-tamiyo-"));
  const server = await startLocalNatsServer({ storeDir });
  const namespace = "benchtamiyo";
  const bus = await connectBus({ name: "bench-tamiyo", namespace, servers: server.url });
  await ensureResources(bus);
  await bootstrapSettings(bus, {});
  const bucket = await openBucket(bus, "catalog");
  for (const d of catalog) await bucket.put(d.blueprintId, d);
  const handle = startActor(
    createTamiyoActor({ env: { [WAL_DIR_ENV]: join(storeDir, "tamiyo"), [POLICY_DIR_ENV]: policyDir } }),
    {
      env: {
        ESPER_NAMESPACE: namespace,
        ESPER_NATS_URL: server.url,
        ESPER_RUN_ID: "bench-tamiyo",
        ESPER_LOG_LEVEL: "fatal",
        ESPER_LOG_PRETTY: "0",
        ESPER_SIGNING_KEY: "bench-tamiyo-signing-key",
      },
      handleSignals: false,
    },
  );
  try {
    while (handle.lifecycle.state !== "running") {
      if (handle.lifecycle.state === "failed" || handle.lifecycle.state === "stopped") {
        throw new Error(`tamiyo did not start: ${handle.lifecycle.state}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    const samples: number[] = [];
    let commands = 0;
    let errors = 0;
    for (let pass = 0; pass < opts.passes; pass++) {
      for (const packet of opts.packets) {
        const p = { ...packet, trainingRunId: `bench-${pass}`, packetId: `bench-${pass}-${packet.packetId}` };
        const t0 = performance.now();
        try {
          const reply = await request(bus, "tamiyoEvaluate", p, { timeoutMs: 10_000 });
          samples.push(performance.now() - t0);
          if (reply.outcome === "command") commands++;
        } catch (err) {
          if (!(err instanceof BusRequestError)) throw err;
          errors++;
        }
      }
    }
    return { samples, commands, errors };
  } finally {
    handle.drain("bench done");
    await handle.done;
    await bus.close();
    await server.stop();
    await rm(storeDir, { recursive: true, force: true });
  }
}
