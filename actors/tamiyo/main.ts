import type { ActorContext, ActorDefinition, PreflightCheck } from "../runtime/actor-types.ts";
import { openCatalogView } from "../runtime/catalog-view.ts";
import type { Mailbox } from "../runtime/mailbox.ts";
import { isProcessEntry, runMain } from "../runtime/main-entry.ts";
import { signingKeyCheck } from "../runtime/preflight-checks.ts";
import { createEvaluateEndpoint, type ServedPolicy } from "./evaluate-endpoint.ts";
import { createFieldReportRounds, fieldReportPublisher } from "./field-report-publisher.ts";
import { FieldReports } from "./field-reports.ts";
import { loadPolicyDirectory, PolicySlot, PolicyUpdateRejectedError, policyChoiceOf } from "./policy-swap.ts";
import { catalogCheck } from "./preflight-checks.ts";
import { RunMemories } from "./run-memories.ts";
import {
  FIELD_REPORT_COMPACT_EVERY_RECORDS,
  FIELD_REPORT_RETENTION,
  FIELD_REPORT_WINDOW_EPOCHS,
  INFERENCE_DEADLINE_MS,
  RUN_MEMORY_CAPACITY,
  WAL_DIR_ENV,
} from "./settings.ts";
import { fieldReportLogPath } from "./wal-directory.ts";

/** Where Tamiyo reads its own settings besides the process settings. */
export interface TamiyoOptions {
  /** The environment holding ESPER_TAMIYO_WAL_DIR, ESPER_TAMIYO_POLICY and ESPER_TAMIYO_POLICY_DIR. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The policy's inference deadline in ms (absent: INFERENCE_DEADLINE_MS, the RC1 budget). */
  readonly inferenceDeadlineMs?: number;
}

/**
 * Builds Tamiyo: preflight checks the signing key, a non-empty catalog bucket and its state directory
 * (ESPER_TAMIYO_WAL_DIR, required); `start` opens the field-report log there (resuming its windows and
 * publishing the reports left pending), loads the catalog view (kept current by a watch of the
 * catalog bucket) and serves `tamiyo.evaluate` in queue group `tamiyo` through the ordered
 * mailbox `evaluate`: a decided command's window is logged, then the command is published on
 * `command.<run>.kasmina` before the reply carries it. The log is closed once that mailbox drained and
 * the work after its last reply (decision publish, telemetry, field-report round) is done.
 */
export function createTamiyoActor(options: TamiyoOptions): ActorDefinition {
  const logFiles = new WeakMap<ActorContext["bus"], string>();
  const policies = new WeakMap<ActorContext["bus"], ServedPolicy>();
  const policyCheck: PreflightCheck = {
    name: "policy",
    async run(ctx) {
      const choice = policyChoiceOf(options.env);
      if (choice.kind === "rules") {
        policies.set(ctx.bus, { kind: "rules" });
        ctx.log.info("tamiyo policy: the rule policy (ESPER_TAMIYO_POLICY=rules)");
        return;
      }
      const model = await loadPolicyDirectory(choice.dir);
      policies.set(ctx.bus, { kind: "onnx", slot: new PolicySlot(model) });
      ctx.log.info({ dir: choice.dir, ...model.identity }, `tamiyo policy: ${model.identity.version}`);
    },
  };
  const walDirCheck: PreflightCheck = {
    name: "wal-directory",
    async run(ctx) {
      const file = await fieldReportLogPath(options.env);
      logFiles.set(ctx.bus, file);
      ctx.log.info({ file }, `${WAL_DIR_ENV}: field-report log ${file}`);
    },
  };
  return {
    name: "tamiyo",
    preflight: [signingKeyCheck, catalogCheck, walDirCheck, policyCheck],
    async start(ctx) {
      const file = logFiles.get(ctx.bus);
      const policy = policies.get(ctx.bus);
      if (file === undefined || policy === undefined)
        throw new Error("tamiyo started without its log path or policy: the preflight did not run");
      const { reports, load } = await FieldReports.open(file, {
        windowEpochs: FIELD_REPORT_WINDOW_EPOCHS,
        retention: FIELD_REPORT_RETENTION,
        compactEveryRecords: FIELD_REPORT_COMPACT_EVERY_RECORDS,
        now: Date.now,
        publish: fieldReportPublisher(ctx),
      });
      if (load.tornTail !== undefined) {
        const t = load.tornTail;
        ctx.telemetry.event("tamiyo.wal.torn_tail", {
          level: "WARNING",
          description: `field-report log ${file}: dropped ${t.droppedBytes} byte(s) (${t.droppedRecords} record) at offset ${t.offset}: ${t.reason}`,
          attributes: { droppedBytes: String(t.droppedBytes), offset: String(t.offset) },
        });
      }
      ctx.log.info(
        {
          file,
          records: load.records.length,
          openWindows: reports.openWindows.length,
          pendingReports: reports.pendingReports.length,
        },
        "tamiyo field-report log loaded",
      );
      const publishReports = createFieldReportRounds(ctx, reports);
      await publishReports();

      const catalog = await openCatalogView(ctx);
      ctx.log.info({ blueprints: catalog.descriptors().length }, "tamiyo catalog loaded");
      ctx.subscribe(
        "policyUpdate",
        async (update) => {
          if (policy.kind === "rules") {
            rejected(update.policyId, "Tamiyo serves the rule policy (ESPER_TAMIYO_POLICY=rules)");
            return;
          }
          try {
            const model = await policy.slot.apply(update);
            ctx.telemetry.event("tamiyo.policy.updated", {
              level: "INFO",
              description: `serving policy ${model.identity.version} (sha256 ${model.identity.digest})`,
              attributes: { policyId: update.policyId, policyVersion: model.identity.version },
            });
          } catch (err) {
            if (!(err instanceof PolicyUpdateRejectedError)) throw err;
            rejected(update.policyId, err.reason);
          }
        },
        { mailbox: "policy", mode: "ordered" },
      );
      function rejected(policyId: string, reason: string): void {
        ctx.telemetry.event("tamiyo.policy.update_rejected", {
          level: "CRITICAL",
          description: `policy update ${policyId} rejected: ${reason}`.slice(0, 4096),
          attributes: { policyId },
        });
      }
      const memories = new RunMemories(RUN_MEMORY_CAPACITY);
      const endpoint = createEvaluateEndpoint({
        ctx,
        catalog,
        memories,
        reports,
        publishReports,
        policy,
        inferenceDeadlineMs: options.inferenceDeadlineMs ?? INFERENCE_DEADLINE_MS,
      });
      const evaluate = ctx.serve("tamiyoEvaluate", endpoint.handle, {
        queue: "tamiyo",
        mailbox: "evaluate",
        mode: "ordered",
      });
      ctx.runTask("field-report-log", async (signal) => {
        await closedAndIdle(evaluate, signal);
        await endpoint.settled();
        await reports.close();
        if (policy.kind === "onnx") await policy.slot.close();
      });
    },
  };
}

/** Resolves once the drain began and `mailbox` was closed and became idle. */
async function closedAndIdle<M>(mailbox: Mailbox<M>, signal: AbortSignal): Promise<void> {
  if (!signal.aborted)
    await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
  while (!mailbox.isClosed) await new Promise((resolve) => setTimeout(resolve, 10));
  await mailbox.whenIdle();
}

/** Tamiyo, its state directory named by ESPER_TAMIYO_WAL_DIR in the process environment. */
export const actor: ActorDefinition = createTamiyoActor({ env: process.env });

if (isProcessEntry(import.meta.url)) await runMain(actor);
