import { CommandType } from "../../contracts/enums.ts";
import type { AdaptationCommand } from "../../contracts/messages/command.ts";
import type { KasminaState } from "../../contracts/messages/kasmina-state.ts";
import type { SeedReport } from "../../contracts/messages/seed.ts";
import { type CommandRejectionReason, type SigningKey, verifyCommand } from "../runtime/command-verifier.ts";
import { NonceLedger, type NonceLedgerOptions } from "../runtime/nonce-ledger.ts";
import type { ControllerOutput } from "./controller-effects.ts";
import { InvalidSnapshotError } from "./errors.ts";
import { SeedController, type SeedControllerOptions } from "./seed-controller.ts";

/** The two durable consumers whose messages change a run's state. */
export type StateConsumer = "commands" | "reports";

/** What a run's state is built with. */
export interface KasminaRunOptions {
  readonly controller: SeedControllerOptions;
  /** Settings `security.nonceTtlMs` and `security.nonceMaxEntries`. */
  readonly ledger: NonceLedgerOptions;
  /**
   * How many stream sequences of applied messages are remembered per consumer: at least the consumer's
   * `maxAckPending`, so every message applied but not yet acked is among them.
   */
  readonly appliedWindow: number;
}

/** What verifying a command reads besides the ledger. */
export interface CommandCheckContext {
  readonly key: SigningKey;
  readonly nowMs: number;
  readonly maxClockSkewMs: number;
}

/** The outcome of a command: already applied (a redelivery), refused by the verifier, or handed to the controller. */
export type CommandOutcome =
  | { readonly kind: "redelivered" }
  | { readonly kind: "refused"; readonly reason: CommandRejectionReason; readonly detail: string }
  | { readonly kind: "handled"; readonly output: ControllerOutput };

/** The outcome of a report: already applied (a redelivery) or handed to the controller. */
export type ReportOutcome =
  | { readonly kind: "redelivered" }
  | { readonly kind: "handled"; readonly output: ControllerOutput };

/**
 * Whether `command` is the administrative reset: a ROLLBACK of mode `full` naming neither an epoch nor
 * a checkpoint (Kasmina keeps none), addressed to Kasmina and signed like any command.
 */
export function isAdministrativeReset(command: AdaptationCommand): boolean {
  const { payload } = command;
  return (
    command.commandType === CommandType.ROLLBACK &&
    payload.kind === "rollback" &&
    payload.mode === "full" &&
    payload.toEpoch === undefined &&
    payload.checkpointId === undefined
  );
}

/**
 * Everything Kasmina keeps for one run: the seed controller, the nonce ledger and the stream sequences
 * of the latest messages applied per consumer. A message whose sequence is among them is a redelivery
 * of a message whose effect is already in the state (it was stored before the ack that did not happen)
 * and changes nothing. `state` / `KasminaRun.restore` convert to and from the persisted KasminaState.
 */
export class KasminaRun {
  private readonly applied: Record<StateConsumer, number[]>;

  private constructor(
    private readonly options: KasminaRunOptions,
    readonly controller: SeedController,
    readonly ledger: NonceLedger,
    applied: Record<StateConsumer, number[]>,
  ) {
    if (!Number.isInteger(options.appliedWindow) || options.appliedWindow < 1) {
      throw new RangeError(`appliedWindow must be an integer >= 1, got ${options.appliedWindow}`);
    }
    this.applied = applied;
  }

  /** A run with no seed germinated, an empty ledger and no message applied. */
  static fresh(options: KasminaRunOptions): KasminaRun {
    return new KasminaRun(options, new SeedController(options.controller), new NonceLedger(options.ledger), {
      commands: [],
      reports: [],
    });
  }

  /**
   * The run in `state` (a decoded, valid KasminaState). Throws InvalidSnapshotError naming the field when
   * the state is of another run, does not fit the host's slots, holds an impossible seed history or an
   * unusable ledger.
   */
  static restore(options: KasminaRunOptions, state: KasminaState): KasminaRun {
    const run = options.controller.trainingRunId;
    if (state.trainingRunId !== run) {
      throw new InvalidSnapshotError("trainingRunId", `is ${state.trainingRunId}, this Kasmina runs ${run}`);
    }
    const controller = SeedController.restore(options.controller, {
      trainingRunId: state.trainingRunId,
      slots: state.slots,
      seeds: state.seeds,
      timeline: state.timeline,
    });
    const ledger = NonceLedger.restore(options.ledger, state.nonces);
    return new KasminaRun(options, controller, ledger, {
      commands: [...state.applied.commands],
      reports: [...state.applied.reports],
    });
  }

  /**
   * A command delivered with stream sequence `sequence`: a redelivery of an applied one changes nothing;
   * otherwise it is verified (signature, nonce, freshness) and, when it passes, the administrative
   * reset clears the ledger (keeping the reset's own nonce) and the seed registry together, and any
   * other command goes to the controller.
   */
  command(command: AdaptationCommand, sequence: number, check: CommandCheckContext): CommandOutcome {
    if (this.applied.commands.includes(sequence)) return { kind: "redelivered" };
    this.remember("commands", sequence);
    const verdict = verifyCommand(command, { ...check, ledger: this.ledger });
    if (!verdict.ok) return { kind: "refused", reason: verdict.reason, detail: verdict.detail };
    if (!isAdministrativeReset(command)) return { kind: "handled", output: this.controller.command(command) };
    this.ledger.clear();
    this.ledger.register(command.security.nonce, check.nowMs);
    return { kind: "handled", output: this.controller.reset(command.commandId) };
  }

  /** A seed report delivered with stream sequence `sequence`: a redelivery of an applied one changes nothing. */
  report(report: SeedReport, sequence: number): ReportOutcome {
    if (this.applied.reports.includes(sequence)) return { kind: "redelivered" };
    this.remember("reports", sequence);
    return { kind: "handled", output: this.controller.report(report) };
  }

  /** The whole state as a KasminaState message, its ledger purged of nonces expired at `nowMs`. */
  state(nowMs: number): KasminaState {
    const { trainingRunId, slots, seeds, timeline } = this.controller.snapshot();
    return {
      trainingRunId,
      savedAt: nowMs,
      slots,
      seeds,
      timeline,
      nonces: this.ledger.snapshot(nowMs),
      applied: { commands: [...this.applied.commands], reports: [...this.applied.reports] },
    } as KasminaState; // fresh copies: their readonly arrays are nobody else's
  }

  private remember(consumer: StateConsumer, sequence: number): void {
    const list = this.applied[consumer];
    list.push(sequence);
    if (list.length > this.options.appliedWindow) list.splice(0, list.length - this.options.appliedWindow);
  }
}
