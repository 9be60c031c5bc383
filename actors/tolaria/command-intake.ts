import { CommandType } from "../../contracts/enums.ts";
import type { AdaptationCommand } from "../../contracts/messages/command.ts";
import type { ActorContext } from "../runtime/actor-types.ts";
import { type SigningKey, verifyCommand } from "../runtime/command-verifier.ts";
import { NonceLedger } from "../runtime/nonce-ledger.ts";

/** A verified command waiting for its step boundary; its handler returns (the message is acked) once it is settled. */
export interface PendingCommand {
  readonly command: AdaptationCommand;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/** The name of a command type, e.g. `EMERGENCY`. */
export function commandTypeName(type: CommandType): string {
  const name = Object.entries(CommandType).find(([, code]) => code === type)?.[0];
  if (name === undefined) throw new RangeError(`unknown CommandType code ${type}`);
  return name;
}

/**
 * Tolaria's commands from `command.{run}.tolaria`: `receive` verifies each (signature, nonce,
 * freshness; the nonce ledger sized by settings `security`) and either rejects it at once or holds it
 * until a step boundary `take`s it and settles it with `applied` or `rejected`. A rejection is a
 * CRITICAL `tolaria.command.rejected` (commandId, reason, detail), counted per reason in
 * `tolaria.command.rejections` (attribute reason); an application an INFO `tolaria.command.applied`
 * (commandId, type).
 */
export class CommandIntake {
  private readonly ledger: NonceLedger;
  private queue: PendingCommand[] = [];
  private readonly waiters = new Set<() => void>();
  private readonly rejections = new Map<string, number>();

  constructor(
    private readonly ctx: ActorContext,
    private readonly key: SigningKey,
  ) {
    const { nonceTtlMs, nonceMaxEntries } = ctx.settings().security;
    this.ledger = new NonceLedger({ ttlMs: nonceTtlMs, maxEntries: nonceMaxEntries });
  }

  /** Commands waiting for a step boundary. */
  get size(): number {
    return this.queue.length;
  }

  /** Verifies `command`: rejected, it is reported and this resolves; accepted, this resolves once its boundary settled it. */
  receive(command: AdaptationCommand): Promise<void> {
    const verdict = verifyCommand(command, {
      key: this.key,
      ledger: this.ledger,
      nowMs: Date.now(),
      maxClockSkewMs: this.ctx.settings().security.maxClockSkewMs,
    });
    if (!verdict.ok) {
      this.reportRejected(command, verdict.reason, verdict.detail);
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ command, resolve, reject });
      for (const wake of this.waiters) wake();
    });
  }

  /** The verified commands waiting, in arrival order; the caller settles each. */
  take(): PendingCommand[] {
    const taken = this.queue;
    this.queue = [];
    return taken;
  }

  /** Resolves when a command is waiting or `signal` aborts. */
  arrival(signal: AbortSignal): Promise<void> {
    if (this.queue.length > 0 || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.waiters.delete(done);
        signal.removeEventListener("abort", done);
        resolve();
      };
      this.waiters.add(done);
      signal.addEventListener("abort", done, { once: true });
    });
  }

  /** Reports `pending` applied and releases its handler. */
  applied(pending: PendingCommand, detail: string): void {
    const { command } = pending;
    const type = commandTypeName(command.commandType);
    this.ctx.telemetry.event("tolaria.command.applied", {
      level: "INFO",
      description: `command ${command.commandId} (${type}) applied: ${detail}`,
      attributes: { commandId: command.commandId, type, trainingRunId: this.ctx.runId },
    });
    pending.resolve();
  }

  /** Reports `pending` rejected with `reason` and releases its handler. */
  rejected(pending: PendingCommand, reason: string, detail: string): void {
    this.reportRejected(pending.command, reason, detail);
    pending.resolve();
  }

  /** Ends every wait with `error` (training over or draining). */
  closeAll(error: Error): void {
    for (const p of this.take()) p.reject(error);
  }

  private reportRejected(command: AdaptationCommand, reason: string, detail: string): void {
    const n = (this.rejections.get(reason) ?? 0) + 1;
    this.rejections.set(reason, n);
    this.ctx.telemetry.metric("tolaria.command.rejections", n, {
      attributes: { reason, trainingRunId: this.ctx.runId },
    });
    this.ctx.telemetry.event("tolaria.command.rejected", {
      level: "CRITICAL",
      description: `command ${command.commandId} rejected: ${reason}: ${detail}`,
      attributes: { commandId: command.commandId, reason, detail, trainingRunId: this.ctx.runId },
    });
    this.ctx.log.error({ commandId: command.commandId, reason, detail }, "command rejected");
  }
}
