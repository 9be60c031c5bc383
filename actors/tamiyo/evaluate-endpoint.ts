import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { publishToStream } from "../../bus/jetstream/publish.ts";
import { publish } from "../../bus/typed.ts";
import type { SystemStatePacket, TamiyoDecision } from "../../contracts/index.ts";
import type { WorkerSettings } from "../../contracts/messages/worker-settings.ts";
import type { ActorContext } from "../runtime/actor-types.ts";
import type { CatalogView } from "../runtime/catalog-view.ts";
import { createCommandBuilder } from "./command-builder.ts";
import { DecisionTelemetry } from "./decision-telemetry.ts";
import { createEvaluator, type Evaluation, type EvaluationInput, type Evaluator } from "./evaluation.ts";
import type { FieldReports } from "./field-reports.ts";
import { jobApprovals } from "./job-approvals.ts";
import {
  createOnnxPolicy,
  InferenceFailedError,
  InferenceTimeoutError,
  type PolicyModel,
} from "./onnx-policy.ts";
import type { Policy } from "./policy.ts";
import type { PolicySlot } from "./policy-swap.ts";
import { createRiskEngine } from "./risk/risk-engine.ts";
import { createRulePolicy } from "./rule-policy.ts";
import type { RunMemories } from "./run-memories.ts";
import { COMMAND_PUBLISH_DEADLINE_MS, commandTimingOf, ruleSetOf } from "./settings.ts";

/** The policy Tamiyo serves: the ONNX model in a swappable slot, or the rule policy (an explicit choice). */
export type ServedPolicy = { readonly kind: "onnx"; readonly slot: PolicySlot } | { readonly kind: "rules" };

/** What the evaluate endpoint works with. */
export interface EvaluateDeps {
  readonly ctx: ActorContext;
  readonly catalog: CatalogView;
  readonly memories: RunMemories;
  readonly reports: FieldReports;
  /** Publishes the pending field reports (failures reported, never thrown). */
  readonly publishReports: () => Promise<void>;
  readonly policy: ServedPolicy;
  /** The ONNX policy's inference deadline, in ms. */
  readonly inferenceDeadlineMs: number;
}

/** Tamiyo's `tamiyo.evaluate` handler and the work it does after each reply. */
export interface EvaluateEndpoint {
  /** Answers one packet (see {@link createEvaluateEndpoint}). */
  readonly handle: (packet: SystemStatePacket) => Promise<TamiyoDecision>;
  /** Resolves once the after-reply work of every reply so far is done (the drain awaits it before closing the log). */
  readonly settled: () => Promise<void>;
}

/**
 * Answers one SystemStatePacket: evaluates it against the run's memory and the catalog; a decided
 * command is published on `command.<run>.kasmina` first and only then replied (a failed publish or
 * evaluation throws, so the requester gets an error and the run's memory is unchanged); a no-op is
 * replied with its reason.
 *
 * Field reports: the packet first updates the open observation windows of its run (in the log); a
 * command's window is opened in the log before the command is published (and withdrawn when the
 * publish fails), so no command is published without its window. All of this is durable before the
 * reply.
 *
 * After the reply was sent (`setImmediate`: the request is answered in the microtasks that follow the
 * handler), off the reply's path: the reply is published on `decision.<run>` for the run's followers,
 * telemetry is recorded and the reports of ended windows are published. The next packet is evaluated
 * meanwhile but touches the log only once that work is done, so log calls never overlap and decisions
 * go out in order. A failed decision publish is reported as `tamiyo.decision.error`, any other failure
 * of that work as `tamiyo.after_reply.error`.
 *
 * Telemetry: `tamiyo.decision.latency_ms` (handler start to reply), INFO `tamiyo.command.issued` per
 * command and WARNING `tamiyo.evaluate.refused` per evaluation that failed; with the ONNX policy also
 * `tamiyo.inference.latency_ms`, `tamiyo.features.coverage`, the count `tamiyo.decision.total` per
 * action kind, and CRITICAL `tamiyo.inference.timeout` when the inference timed out or failed (the
 * request gets an error: never a command the policy did not decide).
 */
export function createEvaluateEndpoint(deps: EvaluateDeps): EvaluateEndpoint {
  const { ctx, catalog, memories, reports, publishReports } = deps;
  let built: { settings: WorkerSettings; model: PolicyModel | undefined; evaluator: Evaluator } | undefined;
  const decisions = new DecisionTelemetry(ctx.telemetry);

  /** The evaluator under the worker settings and model in force (rebuilt when either changes). */
  function evaluator(model: PolicyModel | undefined): Evaluator {
    const settings = ctx.settings();
    if (built?.settings !== settings || built.model !== model)
      built = { settings, model, evaluator: buildEvaluator(settings, model) };
    return built.evaluator;
  }

  function evaluate(input: EvaluationInput): Promise<Evaluation> {
    const served = deps.policy;
    if (served.kind === "rules") return evaluator(undefined).evaluate(input);
    return served.slot.use((model) => evaluator(model).evaluate(input));
  }

  function buildEvaluator(settings: WorkerSettings, model: PolicyModel | undefined): Evaluator {
    const rules = ruleSetOf(settings);
    const policy: Policy =
      model === undefined
        ? createRulePolicy(rules)
        : createOnnxPolicy(model, {
            plateau: rules.plateau,
            schedule: rules.blend.schedule,
            deadlineMs: deps.inferenceDeadlineMs,
            now: () => performance.now(),
          });
    const commands = createCommandBuilder({
      signingKey: ctx.process.signingKey,
      ...commandTimingOf(settings),
      policy: policy.identity,
      now: Date.now,
      newId: randomUUID,
    });
    const risk = createRiskEngine({ inferenceBudgetMs: settings.budgets.tamiyoInferenceMs });
    return createEvaluator({ policy, risk, commands, now: () => performance.now(), newId: randomUUID });
  }

  /** The after-reply work of the last reply; a handler awaits it before its first log call. */
  let afterReply: Promise<void> = Promise.resolve();

  function recordLatency(outcome: string, latencyMs: number): void {
    ctx.telemetry.metric("tamiyo.decision.latency_ms", latencyMs, { unit: "ms", attributes: { outcome } });
  }

  /** What follows a sent reply: its decision publish, telemetry and a field-report round. */
  async function followUp(evaluation: Evaluation, latencyMs: number): Promise<void> {
    const { command, reply, action } = evaluation;
    const run = reply.trainingRunId;
    try {
      publish(ctx.bus, "decision", reply, { params: { run } });
    } catch (err) {
      ctx.reportError("decision", err);
    }
    if (action.scores !== undefined) {
      ctx.telemetry.metric("tamiyo.inference.latency_ms", action.scores.inferenceMs, { unit: "ms" });
      ctx.telemetry.metric("tamiyo.features.coverage", action.scores.featureCoverage);
    }
    const germination = evaluation.memory.lastGermination;
    if (command !== undefined && germination !== undefined) {
      ctx.telemetry.event("tamiyo.command.issued", {
        level: "INFO",
        description: `germinate ${germination.blueprintId} on seed ${germination.seedId} of run ${run}`,
        attributes: {
          commandId: command.commandId,
          seedId: germination.seedId,
          blueprintId: germination.blueprintId,
          trainingRunId: run,
        },
      });
    }
    decisions.record(evaluation);
    recordLatency(reply.outcome, latencyMs);
    await publishReports();
  }

  async function handle(packet: SystemStatePacket): Promise<TamiyoDecision> {
    const started = performance.now();
    const run = packet.trainingRunId;
    try {
      const evaluation = await evaluate({
        packet,
        catalog: catalog.descriptors(),
        approved: jobApprovals(packet.experimentName),
        memory: memories.get(run),
      });
      const { command, reply } = evaluation;
      // The evaluation overlapped the previous reply's after-reply work; the log waits for its end.
      await afterReply;
      await reports.observe(packet, reply.latencyMs);
      const germination = evaluation.memory.lastGermination;
      if (command !== undefined) {
        if (germination === undefined) throw new Error(`command ${command.commandId} has no germination`);
        await reports.opened(
          {
            commandId: command.commandId,
            seedId: germination.seedId,
            blueprintId: germination.blueprintId,
            policyVersion: reply.policyVersion,
          },
          packet,
        );
        try {
          await publishToStream(ctx.bus, "command", command, {
            params: { run, target: "kasmina" },
            deadlineMs: COMMAND_PUBLISH_DEADLINE_MS,
          });
        } catch (err) {
          await reports.withdrawn(command.commandId, err instanceof Error ? err.message : String(err));
          throw err;
        }
      }
      const forgotten = memories.set(evaluation.memory);
      if (forgotten !== undefined) ctx.log.info({ forgotten }, "run memory full: forgot the oldest run");
      const latencyMs = performance.now() - started;
      afterReply = new Promise<void>((resolve) => setImmediate(resolve))
        .then(() => followUp(evaluation, latencyMs))
        .catch((err: unknown) => ctx.reportError("after_reply", err));
      return reply;
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      if (err instanceof InferenceTimeoutError || err instanceof InferenceFailedError) {
        ctx.telemetry.event("tamiyo.inference.timeout", {
          level: "CRITICAL",
          description: reason,
          attributes: { packetId: packet.packetId, trainingRunId: run, policyVersion: err.policyVersion },
        });
      }
      ctx.telemetry.event("tamiyo.evaluate.refused", {
        level: "WARNING",
        description: reason,
        attributes: { packetId: packet.packetId, trainingRunId: run },
      });
      recordLatency("refused", performance.now() - started);
      throw err;
    }
  }

  return { handle, settled: () => afterReply };
}
