import { fileURLToPath } from "node:url";
import { createCommandBuilder } from "../../actors/tamiyo/command-builder.ts";
import { createEvaluator } from "../../actors/tamiyo/evaluation.ts";
import { jobApprovals } from "../../actors/tamiyo/job-approvals.ts";
import { createRiskEngine } from "../../actors/tamiyo/risk/risk-engine.ts";
import { createRulePolicy } from "../../actors/tamiyo/rule-policy.ts";
import { RunMemories } from "../../actors/tamiyo/run-memories.ts";
import { commandTimingOf, RUN_MEMORY_CAPACITY, ruleSetOf } from "../../actors/tamiyo/settings.ts";
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
  const policy = createRulePolicy(ruleSetOf(settings));
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
  return requests.map((frame, index) => {
    const packet = decode("SystemStatePacket", frame.payload);
    clock = frame.receivedAtMs;
    const evaluation = evaluator.evaluate({
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
  });
}
