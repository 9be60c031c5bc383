import { fileURLToPath } from "node:url";
import { PerformanceBudgets } from "../../contracts/budgets.ts";
import { BlendMode, BlendSchedule } from "../../contracts/index.ts";
import type { WorkerSettings } from "../../contracts/messages/worker-settings.ts";
import type { RuleSet } from "./rule-set.ts";

/**
 * Tamiyo's settings, in one place. The WorkerSettings schema has no section for the rule policy, so
 * the plateau rule and the blend mode and shape are constants here; the blend length comes from
 * `seeds.blendSteps` and the command freshness window from `security.freshnessWindowMs` of the
 * worker settings in force.
 */

/** Plateau rule: k epochs without relative improvement greater than ε. */
export const PLATEAU = { epochs: 3, minRelativeImprovement: 0.01 } as const;

/**
 * Blend of a germinated seed: residual (y = h + α·k(h)), linear from 0 to 1 over `seeds.blendSteps`
 * steps. Residual because every blueprint kernel of `nn/blueprints` is a delta on the slot activation
 * (zero-initialised output): a convex blend would replace h by that delta as α rises.
 */
export const BLEND = { mode: BlendMode.RESIDUAL, shape: BlendSchedule.LINEAR, start: 0, end: 1 } as const;

/** Execution deadline carried by every command, in ms. */
export const COMMAND_EXECUTION_DEADLINE_MS = 5_000;

/** Most time the command publish waits for the stream's ack before the evaluation fails, in ms. */
export const COMMAND_PUBLISH_DEADLINE_MS = 2_000;

/** Most training runs whose memory is kept; the least recently evaluated run is forgotten beyond it. */
export const RUN_MEMORY_CAPACITY = 256;

/** The rule set under the given worker settings. */
export function ruleSetOf(settings: WorkerSettings): RuleSet {
  return {
    plateau: { ...PLATEAU },
    blend: {
      mode: BLEND.mode,
      schedule: { shape: BLEND.shape, steps: settings.seeds.blendSteps, start: BLEND.start, end: BLEND.end },
    },
  };
}

/** The command timing under the given worker settings. */
export function commandTimingOf(settings: WorkerSettings): {
  freshnessWindowMs: number;
  executionDeadlineMs: number;
} {
  return {
    freshnessWindowMs: settings.security.freshnessWindowMs,
    executionDeadlineMs: COMMAND_EXECUTION_DEADLINE_MS,
  };
}

/** Epochs a seed command's observation window watches before its field report (the reference's TAMIYO_FR_OBS_WINDOW_EPOCHS). */
export const FIELD_REPORT_WINDOW_EPOCHS = 5;

/**
 * Field-report log retention: published report ids are kept for deduplication for 24 h (the
 * reference's TAMIYO_FIELD_REPORT_RETENTION_HOURS) and at most 10 000 of them; a window open longer
 * than 24 h ends as ABORTED at the next compaction.
 */
export const FIELD_REPORT_RETENTION = { maxAgeMs: 24 * 3_600_000, maxCount: 10_000 } as const;

/** Records appended to the field-report log between two compactions (rewrites as a snapshot). */
export const FIELD_REPORT_COMPACT_EVERY_RECORDS = 1_000;

/** Most time a field report publish waits for the stream's ack, in ms (a failed publish is retried on the next packet). */
export const FIELD_REPORT_PUBLISH_DEADLINE_MS = 2_000;

/** The environment variable naming Tamiyo's state directory, which holds its field-report log. Required. */
export const WAL_DIR_ENV = "ESPER_TAMIYO_WAL_DIR";

/** The field-report log's file name in that directory. */
export const FIELD_REPORT_LOG_FILE = "field-reports.wal";

/** Inference budget of the policy model, in ms (the RC1 budget `PerformanceBudgets.tamiyoInferenceMs`). */
export const INFERENCE_DEADLINE_MS = PerformanceBudgets.tamiyoInferenceMs;

/** The environment variable choosing Tamiyo's policy: `onnx` (the fitted model, when unset) or `rules` (the teacher). */
export const POLICY_KIND_ENV = "ESPER_TAMIYO_POLICY";

/** The environment variable naming the directory of the ONNX policy (model.onnx + manifest.json). */
export const POLICY_DIR_ENV = "ESPER_TAMIYO_POLICY_DIR";

/** The shipped policy's directory (`esper policy fit` on the repo recording; see the README). */
export const SHIPPED_POLICY_DIR = fileURLToPath(new URL("./policies/default", import.meta.url));
