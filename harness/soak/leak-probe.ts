import { type AsyncHook, createHook } from "node:async_hooks";

/** Timers created after a mark and still pending, split by whether they keep the process alive. */
export interface PendingTimers {
  /** Ref'd timers: they also show in `process.getActiveResourcesInfo()`. */
  readonly ref: number;
  /** Unref'd timers: invisible to `process.getActiveResourcesInfo()`, leaked all the same. */
  readonly unref: number;
}

interface TimerLike {
  hasRef(): boolean;
}

/**
 * Every `setTimeout`/`setInterval` created while enabled, until it fires (one-shot) or is cleared,
 * whether ref'd or unref'd, seen through an async hook on `Timeout` resources. Async ids only grow,
 * so `mark()` plus `pendingSince(mark)` gives the timers a stretch of code left behind.
 */
export class TimerLedger {
  private readonly live = new Map<number, TimerLike>();
  private lastId = 0;
  private readonly hook: AsyncHook;

  constructor() {
    this.hook = createHook({
      init: (id, type, _trigger, resource) => {
        if (type !== "Timeout") return;
        this.lastId = id;
        this.live.set(id, resource as TimerLike);
      },
      destroy: (id) => {
        this.live.delete(id);
      },
    });
  }

  /** Starts recording timers. */
  enable(): this {
    this.hook.enable();
    return this;
  }

  /** Stops recording and forgets every timer. */
  disable(): void {
    this.hook.disable();
    this.live.clear();
  }

  /** A position in time: timers created after it are the ones `pendingSince` counts. */
  mark(): number {
    return this.lastId;
  }

  /** Timers created after `mark` that have neither fired (one-shot) nor been cleared. */
  pendingSince(mark: number): PendingTimers {
    let ref = 0;
    let unref = 0;
    for (const [id, timer] of this.live) {
      if (id <= mark) continue;
      if (timer.hasRef()) ref++;
      else unref++;
    }
    return { ref, unref };
  }
}

/** Waits until pending destroy hooks of fired or cleared timers have run (they are emitted on a later turn). */
export async function settleHooks(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Active resources other than timers (`process.getActiveResourcesInfo()`), counted by type. */
export function activeHandles(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) {
    if (r === "Timeout" || r === "Immediate") continue;
    counts.set(r, (counts.get(r) ?? 0) + 1);
  }
  return counts;
}

/** Handles present now beyond `baseline`, by type (only the types that grew). */
export function handlesBeyond(baseline: ReadonlyMap<string, number>): Record<string, number> {
  const extra: Record<string, number> = {};
  for (const [type, n] of activeHandles()) {
    const more = n - (baseline.get(type) ?? 0);
    if (more > 0) extra[type] = more;
  }
  return extra;
}
