/**
 * Leaks a soak run can be told to plant in what it measures, to prove it finds them: a ref'd timer,
 * an unref'd timer, retained heap, a caller that never settles.
 */
export const PLANT_KINDS = ["timer", "unref-timer", "heap", "unsettled"] as const;
/** One kind of planted leak. */
export type PlantKind = (typeof PLANT_KINDS)[number];

/** Bytes of heap the `heap` plant retains per round (the "6 MB that passed as ok"). */
export const PLANTED_HEAP_BYTES = 6 * 1024 * 1024;
const PLANTED_TIMER_MS = 3_600_000;

/** Parses a plant kind, naming the accepted ones when it is not one. */
export function parsePlantKind(value: string): PlantKind {
  if (!(PLANT_KINDS as readonly string[]).includes(value))
    throw new Error(`--plant '${value}' is not one of ${PLANT_KINDS.join(", ")}`);
  return value as PlantKind;
}

/**
 * The leaks planted during one run. Each `leak…` call does nothing unless its kind was chosen.
 * `release()` undoes them all after the measurements, so the process can still exit and free memory.
 */
export class PlantedLeaks {
  private readonly timers: NodeJS.Timeout[] = [];
  private retained: number[][] = [];

  constructor(readonly kind: PlantKind | undefined) {}

  /** Whether callers that never settle should be planted. */
  get unsettled(): boolean {
    return this.kind === "unsettled";
  }

  /** Leaves an interval timer running (`timer`), or an unref'd one (`unref-timer`). */
  leakTimer(): void {
    if (this.kind !== "timer" && this.kind !== "unref-timer") return;
    const timer = setInterval(() => {}, PLANTED_TIMER_MS);
    if (this.kind === "unref-timer") timer.unref();
    this.timers.push(timer);
  }

  /** Retains PLANTED_HEAP_BYTES of JS heap until `release` (`heap`). */
  leakHeap(): void {
    if (this.kind !== "heap") return;
    this.retained.push(new Array<number>(PLANTED_HEAP_BYTES / 8).fill(0.5));
  }

  /** Clears the planted timers and drops the retained heap. */
  release(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
    this.retained = [];
  }
}
