import {
  type AdaptationCommand,
  CONTRACT_VERSION,
  CommandSecurity,
  type CommandSeedOperation,
  CommandType,
  type DecisionMetadata,
  SeedOperation,
  type SystemStatePacket,
  sign,
} from "../../contracts/index.ts";
import { TamiyoSettingsError } from "./errors.ts";
import type { CheckedGermination } from "./id-checks.ts";
import type { PolicyIdentity } from "./policy.ts";

/** The `issuedBy` of every command Tamiyo signs. */
export const ISSUER = "tamiyo";

/** The risk metadata a command carries: the risk engine's first downgrade reason (or `passed`) and its score. */
export interface CommandRisk {
  readonly reason: string;
  readonly score: number;
}

/** The risk reason of a command no risk finding downgraded. */
export const RISK_PASSED_REASON = "passed";

/** What a command builder needs: signing key, command timing, the deciding policy, injected clock and ids. */
export interface CommandBuilderOptions {
  /** HMAC key (ESPER_SIGNING_KEY). Missing or empty is a construction error. */
  readonly signingKey: string | undefined;
  /** How long after `issuedAt` the receiver accepts the command (1 ms to 1 h). */
  readonly freshnessWindowMs: number;
  /** Execution deadline carried by the command, in ms (uint32). */
  readonly executionDeadlineMs: number;
  readonly policy: PolicyIdentity;
  /** Milliseconds since the Unix epoch, for `issuedAt`. */
  readonly now: () => number;
  /** A fresh unique id per call, for the command id and the nonce. */
  readonly newId: () => string;
}

/** Builds signed AdaptationCommands from checked actions. */
export interface CommandBuilder {
  /** A signed SEED/GERMINATE command for a checked (and risk-assessed) germination on `packet`'s run. */
  germinate(
    checked: CheckedGermination,
    packet: SystemStatePacket,
    assessed: { readonly policyLatencyMs: number; readonly risk: CommandRisk },
  ): AdaptationCommand;
}

/** Creates a command builder; throws TamiyoSettingsError naming the field for a missing key or bad timing. */
export function createCommandBuilder(options: CommandBuilderOptions): CommandBuilder {
  const { signingKey, freshnessWindowMs, executionDeadlineMs, policy, now, newId } = options;
  if (signingKey === undefined || signingKey.length === 0) {
    throw new TamiyoSettingsError(
      "signingKey",
      "is missing: set ESPER_SIGNING_KEY (there is no default key)",
    );
  }
  if (!CommandSecurity.shape.freshnessWindowMs.safeParse(freshnessWindowMs).success) {
    throw new TamiyoSettingsError(
      "freshnessWindowMs",
      `must be an integer in [1, 3600000] ms, got ${freshnessWindowMs}`,
    );
  }
  if (
    !Number.isInteger(executionDeadlineMs) ||
    executionDeadlineMs < 0 ||
    executionDeadlineMs > 0xffff_ffff
  ) {
    throw new TamiyoSettingsError("executionDeadlineMs", `must be a uint32, got ${executionDeadlineMs}`);
  }
  return {
    germinate(checked, packet, { policyLatencyMs, risk }) {
      const { action, blueprint } = checked;
      const { mode, schedule, confidence } = action.blend;
      const payload: CommandSeedOperation = {
        kind: "seed",
        operation: SeedOperation.GERMINATE,
        blueprintId: blueprint.blueprintId,
        blendMode: mode,
        alpha: schedule.start,
        schedule,
        ...(confidence !== undefined ? { confidence } : {}),
        resume: false,
        includeTeacher: false,
        parameters: {},
      };
      const decision: DecisionMetadata = {
        policy: {
          version: policy.version,
          digest: policy.digest,
          action: action.kind,
          latencyMs: policyLatencyMs,
        },
        risk: { reason: risk.reason, score: risk.score },
        blend: { methodIndex: schedule.shape, scheduleStart: schedule.start, scheduleEnd: schedule.end },
        coverage: { featureCoverage: 1, byType: {} },
      };
      const unsigned: AdaptationCommand = {
        version: CONTRACT_VERSION,
        commandId: newId(),
        commandType: CommandType.SEED,
        trainingRunId: packet.trainingRunId,
        targetSeedId: action.seedId,
        executionDeadlineMs,
        issuedBy: ISSUER,
        payload,
        decision,
        security: { signature: "", nonce: newId(), issuedAt: now(), freshnessWindowMs },
      };
      return sign("AdaptationCommand", unsigned, signingKey);
    },
  };
}
