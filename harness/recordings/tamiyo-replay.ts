import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { createCommandBuilder } from "../../actors/tamiyo/command-builder.ts";
import { createEvaluator } from "../../actors/tamiyo/evaluation.ts";
import { jobApprovals } from "../../actors/tamiyo/job-approvals.ts";
import { createRiskEngine } from "../../actors/tamiyo/risk/risk-engine.ts";
import { createOnnxPolicy } from "../../actors/tamiyo/onnx-policy.ts";
import { loadPolicyDirectory } from "../../actors/tamiyo/policy-swap.ts";
import { RunMemories } from "../../actors/tamiyo/run-memories.ts";
import {
  commandTimingOf,
  RUN_MEMORY_CAPACITY,
  ruleSetOf,
  SHIPPED_POLICY_DIR,
} from "../../actors/tamiyo/settings.ts";
import { buildLibrary, libraryConfigs } from "../../actors/urza/library.ts";
import { readRecording } from "../../bus/recording/reader.ts";
import { decode, encode, type TamiyoDecision } from "../../contracts/index.ts";
import { WorkerSettings } from "../../contracts/messages/worker-settings.ts";

/** The recorded `esper up` run whose evaluate requests the replay feeds to Tamiyo. */
export const SPIRALS_RECORDING = fileURLToPath(new URL("./spirals-growth.esperrec", import.meta.url));

/** The golden replies of that replay, one JSON line per decision. */
export const SPIRALS_TAMIYO_GOLDEN = fileURLToPath(
  new URL("./spirals-growth.tamiyo-golden.jsonl", import.meta.url),
);

/** The one command that rewrites the golden file after an intended change of the policy, features or risk engine. */
export const REGENERATE_GOLDEN_COMMAND = "node bin/esper.js golden tamiyo --update";

/**
 * The inference deadline of the replay: generous, since the golden file pins decisions and a loaded
 * test machine must not turn a slow inference into a failed replay (the deadline has its own test).
 */
export const REPLAY_INFERENCE_DEADLINE_MS = 10_000;

/** The signing key of replayed commands (a fixed test key, so signatures are part of the golden bytes). */
export const REPLAY_SIGNING_KEY = "esper-replay-golden-key";

/** One replayed decision: its place in the recording, the packet it answers and the encoded reply. */
export interface ReplayedDecision {
  /** Index of the evaluate request among the recording's evaluate requests. */
  readonly index: number;
  readonly packetId: string;
  /** `germinate <blueprint> on <seed>` or the no-op reason code. */
  readonly summary: string;
  /** The TamiyoDecision's msgpack encoding. */
  readonly bytes: Uint8Array;
}

/** A seeded id source: `<seed>-000001`, `<seed>-000002`, ... */
export function seededIds(seed: string): () => string {
  let n = 0;
  return () => `${seed}-${String(++n).padStart(6, "0")}`;
}

/** A decision's one-line summary. */
export function summarise(reply: TamiyoDecision): string {
  if (reply.outcome === "noAction") return reply.reason.split(":")[0] ?? reply.reason;
  const { command } = reply;
  return command.payload.kind === "seed"
    ? `germinate ${command.payload.blueprintId} on ${command.targetSeedId}`
    : `command ${command.payload.kind}`;
}

/**
 * Feeds the evaluate requests of `recording` (in order) into Tamiyo's evaluator as the actor builds it
 * (the policy and risk engine under the default worker settings, the catalog of Urza's library, each
 * run's job approvals and memory), with the request's recorded receive time as the clock (latencies
 * are 0) and ids from `seededIds("replay")`. The same recording gives the same bytes on every run.
 */
export async function replayTamiyo(recording: string = SPIRALS_RECORDING): Promise<ReplayedDecision[]> {
  const { header, frames } = await readRecording(recording);
  const settings = WorkerSettings.parse({});
  const catalog = buildLibrary(libraryConfigs(), header.createdAtMs).map((e) => e.descriptor);
  let clock = 0;
  const now = () => clock;
  const newId = seededIds("replay");
  const rules = ruleSetOf(settings);
  const model = await loadPolicyDirectory(SHIPPED_POLICY_DIR);
  const policy = createOnnxPolicy(model, {
    plateau: rules.plateau,
    schedule: rules.blend.schedule,
    deadlineMs: REPLAY_INFERENCE_DEADLINE_MS,
    now: () => performance.now(),
  });
  const commands = createCommandBuilder({
    signingKey: REPLAY_SIGNING_KEY,
    ...commandTimingOf(settings),
    policy: policy.identity,
    now,
    newId,
  });
  const risk = createRiskEngine({ inferenceBudgetMs: settings.budgets.tamiyoInferenceMs });
  const evaluator = createEvaluator({ policy, risk, commands, now, newId });
  const memories = new RunMemories(RUN_MEMORY_CAPACITY);
  const requests = frames.filter((f) => f.subject.endsWith(".tamiyo.evaluate"));
  const replayed: ReplayedDecision[] = [];
  try {
    for (const [index, frame] of requests.entries()) {
      replayed.push(await replayOne(index, frame.payload, frame.receivedAtMs));
    }
  } finally {
    await model.session.release();
  }
  return replayed;

  async function replayOne(index: number, payload: Uint8Array, receivedAtMs: number): Promise<ReplayedDecision> {
    const packet = decode("SystemStatePacket", payload);
    clock = receivedAtMs;
    const evaluation = await evaluator.evaluate({
      packet,
      catalog,
      approved: jobApprovals(packet.experimentName),
      memory: memories.get(packet.trainingRunId),
    });
    memories.set(evaluation.memory);
    const { reply } = evaluation;
    return {
      index,
      packetId: packet.packetId,
      summary: summarise(reply),
      bytes: encode("TamiyoDecision", reply),
    };
  }
}
