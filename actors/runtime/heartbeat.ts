import type { Heartbeat } from "../../contracts/messages/runtime.ts";

/** How a Heartbeater is built. */
export interface HeartbeaterOptions {
  /** Interval between beats (worker settings `cadence.heartbeatIntervalMs`). */
  readonly intervalMs: number;
  /** Builds the current heartbeat. */
  readonly build: () => Heartbeat;
  /** Publishes one heartbeat (the actor publishes on `<ns>.heartbeat.<actor>`); a throw is given to `onError`. */
  readonly publish: (hb: Heartbeat) => void;
  readonly onError: (error: unknown) => void;
}

/** Publishes a heartbeat at once on `start` and then every `intervalMs`, changeable live. */
export class Heartbeater {
  private intervalMs: number;
  private timer: NodeJS.Timeout | undefined;
  private beats = 0;

  constructor(private readonly opts: HeartbeaterOptions) {
    this.intervalMs = checkInterval(opts.intervalMs);
  }

  /** Heartbeats published so far. */
  get count(): number {
    return this.beats;
  }

  /** Beats now and starts the interval. */
  start(): void {
    this.stop();
    this.beat();
    this.timer = setInterval(() => this.beat(), this.intervalMs);
  }

  /** Changes the interval; a running heartbeat restarts its timer with it (without an extra beat). */
  setInterval(ms: number): void {
    this.intervalMs = checkInterval(ms);
    if (this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = setInterval(() => this.beat(), this.intervalMs);
    }
  }

  /** Publishes one heartbeat now (e.g. on a lifecycle change). */
  beat(): void {
    try {
      this.opts.publish(this.opts.build());
      this.beats++;
    } catch (error) {
      this.opts.onError(error);
    }
  }

  /** Stops the interval. */
  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}

function checkInterval(ms: number): number {
  if (!Number.isInteger(ms) || ms < 1)
    throw new RangeError(`heartbeat interval must be an integer >= 1 ms, got ${ms}`);
  return ms;
}
