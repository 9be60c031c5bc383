import { performance } from "node:perf_hooks";
import type { CheckpointEntry } from "./checkpoint-manifest.ts";
import type { CheckpointStore } from "./checkpoints.ts";
import { seedChanges, trainingDigest } from "./snapshot-digest.ts";
import { SnapshotRing } from "./snapshot-ring.ts";
import type { Trainer } from "./trainer.ts";
import { snapshotBytes, type TrainerSnapshot } from "./trainer-snapshot.ts";

/** Which tier a restore reads: the in-memory ring (fast) or the checkpoint files (full). */
export type RollbackTier = "fast" | "full";

/** What to restore: a tier and, optionally, the start of an epoch or (full tier) a checkpoint id; else the newest. */
export interface RollbackRequest {
  readonly tier: RollbackTier;
  readonly toEpoch?: number;
  readonly checkpointId?: string;
}

/** Each tier's restore deadline (settings `tolaria.rollback`). */
export interface RollbackDeadlines {
  readonly fastDeadlineMs: number;
  readonly fullDeadlineMs: number;
}

/** A restore that was done: where it came from, how long it took, what it did to the seed set, digests. */
export interface RollbackOutcome {
  readonly tier: RollbackTier;
  /** The step and epoch the trainer is back at. */
  readonly step: number;
  readonly epoch: number;
  /** The checkpoint read (full tier). */
  readonly checkpoint?: CheckpointEntry;
  readonly restoreMs: number;
  /** Seeds live before that the snapshot does not hold (gone), and the snapshot's seeds that were not live (back). */
  readonly seedsRemoved: readonly string[];
  readonly seedsRestored: readonly string[];
  /** trainingDigest of the state discarded, of the snapshot, and of the trainer after the restore. */
  readonly discardedSha256: string;
  readonly snapshotSha256: string;
  readonly restoredSha256: string;
}

/** Nothing to restore for the request (a ring miss with a tier named, no such checkpoint). */
export class RollbackUnavailableError extends Error {
  override readonly name = "RollbackUnavailableError";
}

/**
 * A restore that missed its tier's deadline. `applied` tells whether the trainer was restored (a late
 * restore) or left as it was (cancelled before anything was applied).
 */
export class RollbackDeadlineError extends Error {
  override readonly name = "RollbackDeadlineError";
  constructor(
    readonly tier: RollbackTier,
    readonly deadlineMs: number,
    readonly elapsedMs: number,
    readonly applied: boolean,
  ) {
    super(
      `${tier} restore ${applied ? `took ${elapsedMs.toFixed(3)} ms` : `cancelled after ${elapsedMs.toFixed(3)} ms`}, past its deadline of ${deadlineMs} ms (settings tolaria.rollback.${tier}DeadlineMs)`,
    );
  }
}

/**
 * The two rollback tiers over one trainer. `keep` puts a boundary snapshot in the ring (bounded in
 * bytes, oldest evicted) and, when asked, in the checkpoint store. `restore` takes a ring snapshot
 * (fast) or a checkpoint (full) and restores the trainer bit for bit within the tier's deadline: the
 * full tier's load is cancelled at its deadline (nothing applied); the fast tier's restore is one
 * synchronous copy that cannot be cut, so a late one is detected when it returns. Either way a missed
 * deadline is a RollbackDeadlineError. After a restore, the ring's later snapshots are dropped.
 */
export class RollbackTiers {
  readonly ring: SnapshotRing<TrainerSnapshot>;

  constructor(
    ringBytes: number,
    readonly store: CheckpointStore,
  ) {
    this.ring = new SnapshotRing(ringBytes);
  }

  /** Keeps `snap` in the ring, and with `durable` also writes it as a checkpoint (returned). */
  async keep(snap: TrainerSnapshot, durable: boolean, nowMs: number): Promise<CheckpointEntry | undefined> {
    this.ring.add(snap.progress.steps, snapshotBytes(snap), snap);
    return durable ? await this.store.write(snap, snap.progress.epochIndex, nowMs) : undefined;
  }

  /** Restores `trainer` as `request` says within `deadlines`; see the class. */
  async restore(
    trainer: Trainer,
    request: RollbackRequest,
    deadlines: RollbackDeadlines,
  ): Promise<RollbackOutcome> {
    const live = trainer.seeds().map((e) => e.seed.seedId);
    const discardedSha256 = trainingDigest(trainer.snapshot().training);
    const started = performance.now();
    let snap: TrainerSnapshot;
    let checkpoint: CheckpointEntry | undefined;
    let deadlineMs: number;
    if (request.tier === "fast") {
      deadlineMs = deadlines.fastDeadlineMs;
      snap = this.fromRing(request);
    } else {
      deadlineMs = deadlines.fullDeadlineMs;
      const id = this.checkpointIdOf(request);
      const timer = new AbortController();
      const t = setTimeout(() => timer.abort(), deadlineMs);
      try {
        const loaded = await this.store.load(id, timer.signal);
        snap = loaded.snapshot;
        checkpoint = loaded.entry;
      } catch (err) {
        if (timer.signal.aborted)
          throw new RollbackDeadlineError("full", deadlineMs, performance.now() - started, false);
        throw err;
      } finally {
        clearTimeout(t);
      }
      const elapsed = performance.now() - started;
      if (elapsed > deadlineMs) throw new RollbackDeadlineError("full", deadlineMs, elapsed, false);
    }
    trainer.restore(snap);
    const restoreMs = performance.now() - started;
    this.ring.dropAfter(snap.progress.steps);
    if (restoreMs > deadlineMs) throw new RollbackDeadlineError(request.tier, deadlineMs, restoreMs, true);
    const { removed, restored } = seedChanges(live, snap);
    return {
      tier: request.tier,
      step: snap.progress.steps,
      epoch: snap.progress.epochIndex,
      ...(checkpoint === undefined ? {} : { checkpoint }),
      restoreMs,
      seedsRemoved: removed,
      seedsRestored: restored,
      discardedSha256,
      snapshotSha256: trainingDigest(snap.training),
      restoredSha256: trainingDigest(trainer.snapshot().training),
    };
  }

  private fromRing(request: RollbackRequest): TrainerSnapshot {
    if (request.checkpointId !== undefined)
      throw new RollbackUnavailableError(
        `checkpoint ${request.checkpointId} names the full tier, not the fast ring`,
      );
    const held = this.ring.entries();
    const hit =
      request.toEpoch === undefined
        ? held.at(-1)
        : held.find(
            (e) => e.value.progress.epochIndex === request.toEpoch && e.value.progress.stepInEpoch === 0,
          );
    if (hit === undefined)
      throw new RollbackUnavailableError(
        `the fast ring holds no snapshot ${request.toEpoch === undefined ? "" : `at the start of epoch ${request.toEpoch} `}(it holds epochs [${held.map((e) => e.value.progress.epochIndex).join(", ")}])`,
      );
    return hit.value;
  }

  private checkpointIdOf(request: RollbackRequest): string | undefined {
    if (request.checkpointId !== undefined || request.toEpoch === undefined) return request.checkpointId;
    const at = this.store.entries
      .filter((c) => c.epoch === request.toEpoch)
      .sort((a, b) => a.step - b.step)[0];
    if (at === undefined)
      throw new RollbackUnavailableError(
        `no checkpoint of epoch ${request.toEpoch} in ${this.store.dir} (it holds epochs [${this.store.entries.map((c) => c.epoch).join(", ")}])`,
      );
    return at.id;
  }
}
