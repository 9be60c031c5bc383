import { randomUUID } from "node:crypto";
import type { BusConnection } from "../../bus/connection.ts";
import { publishToStream } from "../../bus/jetstream/publish.ts";
import { request } from "../../bus/typed.ts";
import { TelemetryLevel } from "../../contracts/enums.ts";
import { JOB_ENV, selectJob } from "../../nn/presets/job-selection.ts";
import type { ActorContext, ActorDefinition, PreflightCheck } from "../runtime/actor-types.ts";
import { isProcessEntry, runMain } from "../runtime/main-entry.ts";
import { signingKeyCheck } from "../runtime/preflight-checks.ts";
import type { ControllerEffect, ControllerOutput } from "./controller-effects.ts";
import { slotSeeds } from "./job-slots.ts";
import { NonceLedger } from "./nonce-ledger.ts";
import { SeedController, type SlotSeed } from "./seed-controller.ts";
import { ADVANCE_RULES, BLEND_TEMPERATURE } from "./settings.ts";
import { type SigningKey, signingKey, verifyCommand } from "./verifier.ts";

/** How a Kasmina actor finds its run's job. */
export interface KasminaOptions {
  /** Where ESPER_JOB is read (at preflight). */
  readonly env: Readonly<Record<string, string | undefined>>;
}

const levelNames = {
  [TelemetryLevel.UNSPECIFIED]: "INFO",
  [TelemetryLevel.INFO]: "INFO",
  [TelemetryLevel.WARNING]: "WARNING",
  [TelemetryLevel.ERROR]: "ERROR",
  [TelemetryLevel.CRITICAL]: "CRITICAL",
} as const;

/** Performs the controller's effects in order; a prefetch's answer is fed back and its effects performed in turn. */
async function perform(
  ctx: ActorContext,
  controller: SeedController,
  output: ControllerOutput,
): Promise<void> {
  const run = ctx.runId;
  for (const effect of output.effects) await performOne(ctx, controller, run, effect);
}

async function performOne(
  ctx: ActorContext,
  controller: SeedController,
  run: string,
  effect: ControllerEffect,
): Promise<void> {
  switch (effect.kind) {
    case "directive":
      await publishToStream(ctx.bus, "seedDirective", effect.directive, { params: { run } });
      return;
    case "event":
      ctx.telemetry.event(effect.name, {
        level: levelNames[effect.level],
        description: Object.entries(effect.attributes)
          .map(([k, v]) => `${k}=${v}`)
          .join(" "),
        attributes: { ...effect.attributes, trainingRunId: run },
      });
      return;
    case "prefetch": {
      const timeoutMs = ctx.settings().timeouts.prefetchDeadlineMs;
      let answer: ControllerOutput;
      try {
        const result = await request(ctx.bus, "urzaPrefetch", effect.request, {
          timeoutMs,
          signal: ctx.signal,
        });
        answer = controller.prefetchResult(result);
      } catch (err) {
        ctx.telemetry.event("kasmina.prefetch.failed", {
          level: "WARNING",
          description: `no kernel for seed ${effect.seedId} from Urza within ${timeoutMs} ms: ${(err as Error).message}`,
          attributes: {
            trainingRunId: run,
            seedId: effect.seedId,
            requestId: effect.request.requestId,
            blueprintId: effect.request.blueprintId,
          },
        });
        answer = controller.prefetchTimedOut(effect.request.requestId);
      }
      await perform(ctx, controller, answer);
      return;
    }
  }
}

/**
 * Builds the Kasmina actor for the run `ctx.runId`. Preflight: ESPER_SIGNING_KEY is set; ESPER_JOB
 * names a known preset (unset: the default job, as for Tolaria), whose host's slots each offer the seed
 * `<slotId>-g0`. Start: a NonceLedger sized by `security.*`; consumes the run's `kasmina-commands`
 * (verified: signature, nonce, freshness; a refused command is a CRITICAL `kasmina.command.rejected`,
 * counted and acked) and `kasmina-seed-reports`, both through one ordered mailbox each, handing them to
 * the SeedController and performing its effects in order: directives stored on `seed.<run>.directive`,
 * prefetches asked of Urza within `timeouts.prefetchDeadlineMs` (the answer or the timeout fed back),
 * events as telemetry with their level and `trainingRunId`.
 */
export function createKasminaActor(options: KasminaOptions): ActorDefinition {
  const layouts = new WeakMap<BusConnection, readonly SlotSeed[]>();
  const jobCheck: PreflightCheck = {
    name: "kasmina-job",
    run(ctx) {
      const { preset, defaulted } = selectJob(options.env);
      const slots = slotSeeds(preset);
      if (slots.length === 0) throw new Error(`job ${preset.name}: its host has no seed slot`);
      layouts.set(ctx.bus, slots);
      const how = defaulted ? `${JOB_ENV} not set: the default job` : `${JOB_ENV}=${preset.name}`;
      ctx.log.info({ job: preset.name, slots }, `${how} ${preset.name}`);
    },
  };
  return {
    name: "kasmina",
    preflight: [signingKeyCheck, jobCheck],
    async start(ctx) {
      const slots = layouts.get(ctx.bus);
      if (slots === undefined)
        throw new Error("kasmina started without its slot layout: the preflight did not run");
      const key: SigningKey = signingKey(ctx.process.signingKey);
      const settings = ctx.settings();
      const run = ctx.runId;
      const ledger = new NonceLedger({
        ttlMs: settings.security.nonceTtlMs,
        maxEntries: settings.security.nonceMaxEntries,
      });
      const controller = new SeedController({
        trainingRunId: run,
        slots,
        embargoMs: settings.seeds.embargoMs,
        rules: ADVANCE_RULES,
        blendTemperature: BLEND_TEMPERATURE,
        clock: Date.now,
        newId: randomUUID,
      });
      let rejected = 0;
      await ctx.consume(
        { name: "kasmina-commands", run },
        async (command) => {
          const verdict = verifyCommand(command, {
            key,
            ledger,
            nowMs: Date.now(),
            maxClockSkewMs: ctx.settings().security.maxClockSkewMs,
          });
          if (!verdict.ok) {
            rejected++;
            ctx.telemetry.metric("kasmina.command.rejections", rejected);
            ctx.telemetry.event("kasmina.command.rejected", {
              level: "CRITICAL",
              description: `command ${command.commandId} refused: ${verdict.reason}: ${verdict.detail}`,
              attributes: {
                reason: verdict.reason,
                commandId: command.commandId,
                trainingRunId: command.trainingRunId,
              },
            });
            return;
          }
          await perform(ctx, controller, controller.command(command));
        },
        { mailbox: "commands", mode: "ordered" },
      );
      await ctx.consume(
        { name: "kasmina-seed-reports", run },
        async (report) => perform(ctx, controller, controller.report(report)),
        { mailbox: "reports", mode: "ordered" },
      );
      ctx.log.info({ run, slots }, "kasmina running");
    },
  };
}

/** Kasmina, its run's job named by ESPER_JOB in the process environment. */
export const actor: ActorDefinition = createKasminaActor({ env: process.env });

if (isProcessEntry(import.meta.url)) await runMain(actor);
