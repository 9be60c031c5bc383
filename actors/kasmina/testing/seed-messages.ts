import { BlendMode, BlendSchedule, CommandType, SeedOperation } from "../../../contracts/enums.ts";
import type { AdaptationCommand } from "../../../contracts/messages/command.ts";
import type { SeedReport } from "../../../contracts/messages/seed.ts";
import { sign } from "../../../contracts/signing.ts";

/** The blueprint the Kasmina tests germinate (their fake Urza answers for it). */
export const TEST_BLUEPRINT = "bp-mlp";

/** A GERMINATE (of `blueprintId`, default TEST_BLUEPRINT) or CULL of `seedId` in run `run`, signed with `key`, issued now. */
export function signedSeedCommand(
  run: string,
  seedId: string,
  commandId: string,
  key: string,
  operation: typeof SeedOperation.GERMINATE | typeof SeedOperation.CULL = SeedOperation.GERMINATE,
  blueprintId: string = TEST_BLUEPRINT,
): AdaptationCommand {
  return sign(
    "AdaptationCommand",
    {
      version: 1,
      commandId,
      commandType: CommandType.SEED,
      trainingRunId: run,
      targetSeedId: seedId,
      executionDeadlineMs: 5_000,
      issuedBy: "tamiyo",
      payload: {
        kind: "seed",
        operation,
        ...(operation === SeedOperation.GERMINATE ? { blueprintId } : {}),
        blendMode: BlendMode.CONVEX,
        schedule: { shape: BlendSchedule.TANH, steps: 20, start: 0, end: 1 },
        resume: false,
        includeTeacher: false,
        parameters: {},
      },
      security: { signature: "", nonce: `n-${commandId}`, issuedAt: Date.now(), freshnessWindowMs: 60_000 },
    },
    key,
  );
}

/** Report number `n` of `seedId` in `stage`: loss equal to the host's (harmless), issued now. */
export function seedReportOf(run: string, seedId: string, stage: SeedReport["stage"], n: number): SeedReport {
  return {
    reportId: `r${n}`,
    trainingRunId: run,
    seedId,
    stage,
    epoch: 1,
    globalStep: n * 10,
    steps: 10,
    alpha: 0,
    loss: 0.5,
    hostLoss: 0.5,
    lossDelta: 0,
    seedGradientNorm: 1,
    hostGradientNorm: 1,
    gradientCosine: 0,
    isolationLeak: 0,
    interfaceGradientNorm: 1,
    gradientShare: 0.5,
    conflicts: 0,
    conflictRatio: 0,
    parameterCount: 100,
    nonFiniteGradients: false,
    issuedAt: Date.now(),
  };
}
