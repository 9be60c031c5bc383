import type { TamiyoDecision } from "../../contracts/index.ts";
import type { TelemetryEmitter } from "../runtime/telemetry.ts";
import type { ConservativeTransition } from "./risk/conservative-mode.ts";

/** The telemetry of one decision Tamiyo replied with. */
export interface DecidedTelemetry {
  readonly reply: TamiyoDecision;
  /** Whether the packet moved its run into or out of conservative mode. */
  readonly conservative: ConservativeTransition;
}

/**
 * Records the telemetry of each decision, with counts since the process started: `tamiyo.decision.total`
 * (attribute `kind`: `germinate` for a command, the no-op reason code otherwise, e.g. `no_plateau`,
 * `risk_veto`); per veto WARNING `tamiyo.risk.veto` (description = the evidence; attributes evaluator,
 * reason, packetId, trainingRunId) and `tamiyo.risk.vetoes_total` (attribute `reason`); per downgrade
 * `tamiyo.risk.downgrades_total` (attribute `reason`); gauge `tamiyo.risk.conservative_mode` (1 or 0,
 * attribute trainingRunId) per decision, and WARNING `tamiyo.risk.conservative_entered` / INFO
 * `tamiyo.risk.conservative_exited` when a packet moves its run in or out of it.
 */
export class DecisionTelemetry {
  readonly #telemetry: TelemetryEmitter;
  readonly #decisions = new Map<string, number>();
  readonly #vetoes = new Map<string, number>();
  readonly #downgrades = new Map<string, number>();

  constructor(telemetry: TelemetryEmitter) {
    this.#telemetry = telemetry;
  }

  /** Records one replied decision. */
  record({ reply, conservative }: DecidedTelemetry): void {
    const t = this.#telemetry;
    const run = reply.trainingRunId;
    const kind =
      reply.outcome === "command"
        ? (reply.command.decision?.policy.action ?? "command")
        : (reply.reason.split(":")[0] ?? reply.reason);
    t.metric("tamiyo.decision.total", bump(this.#decisions, kind), { attributes: { kind } });
    for (const v of reply.risk.vetoes) {
      t.event("tamiyo.risk.veto", {
        level: "WARNING",
        description: v.detail.length > 0 ? v.detail : v.reason,
        attributes: {
          evaluator: v.evaluator,
          reason: v.reason,
          packetId: reply.packetId,
          trainingRunId: run,
        },
      });
      t.metric("tamiyo.risk.vetoes_total", bump(this.#vetoes, v.reason), {
        attributes: { reason: v.reason },
      });
    }
    for (const d of reply.risk.downgrades) {
      t.metric("tamiyo.risk.downgrades_total", bump(this.#downgrades, d.reason), {
        attributes: { reason: d.reason },
      });
    }
    t.metric("tamiyo.risk.conservative_mode", reply.risk.conservative ? 1 : 0, {
      attributes: { trainingRunId: run },
    });
    if (conservative === "entered") {
      t.event("tamiyo.risk.conservative_entered", {
        level: "WARNING",
        description: `run ${run} entered conservative mode at packet ${reply.packetId}: only safe actions pass`,
        attributes: { packetId: reply.packetId, trainingRunId: run },
      });
    } else if (conservative === "exited") {
      t.event("tamiyo.risk.conservative_exited", {
        level: "INFO",
        description: `run ${run} left conservative mode at packet ${reply.packetId} (stabilised)`,
        attributes: { packetId: reply.packetId, trainingRunId: run },
      });
    }
  }
}

function bump(counts: Map<string, number>, key: string): number {
  const n = (counts.get(key) ?? 0) + 1;
  counts.set(key, n);
  return n;
}
