import { CircuitBreakerState } from "../../contracts/enums.ts";

/** Breaker thresholds (the reference's 3 failures, 1 success, 30 s). */
export interface BreakerSettings {
  readonly failureThreshold: number;
  readonly successThreshold: number;
  readonly openTimeoutMs: number;
}

/**
 * The training loop's circuit breaker. CLOSED → OPEN after `failureThreshold` consecutive failures;
 * OPEN → HALF_OPEN once `openTimeoutMs` passed (read by `state(now)`); HALF_OPEN → CLOSED after
 * `successThreshold` successes, back to OPEN on a failure. `force` applies a signed command's state.
 */
export class CircuitBreaker {
  private current: CircuitBreakerState = CircuitBreakerState.CLOSED;
  private failures = 0;
  private successes = 0;
  private openedAtMs = 0;

  constructor(private readonly settings: BreakerSettings) {
    for (const [k, v] of Object.entries(settings))
      if (!Number.isSafeInteger(v) || v < 1)
        throw new RangeError(`breaker ${k} must be an integer >= 1, got ${v}`);
  }

  /** The state at `nowMs` (an OPEN breaker past its timeout is HALF_OPEN). */
  state(nowMs: number): CircuitBreakerState {
    if (this.current === CircuitBreakerState.OPEN && nowMs - this.openedAtMs >= this.settings.openTimeoutMs) {
      this.current = CircuitBreakerState.HALF_OPEN;
      this.successes = 0;
    }
    return this.current;
  }

  /** Records a failure; returns true when it opened the breaker. */
  failure(nowMs: number): boolean {
    const s = this.state(nowMs);
    this.failures++;
    if (
      s === CircuitBreakerState.HALF_OPEN ||
      (s === CircuitBreakerState.CLOSED && this.failures >= this.settings.failureThreshold)
    ) {
      this.open(nowMs);
      return true;
    }
    return false;
  }

  /** Records a success (resets the failure streak; closes a HALF_OPEN breaker after enough of them). */
  success(nowMs: number): void {
    const s = this.state(nowMs);
    this.failures = 0;
    if (s === CircuitBreakerState.HALF_OPEN && ++this.successes >= this.settings.successThreshold)
      this.current = CircuitBreakerState.CLOSED;
  }

  /** Moves the breaker to `state` (a verified circuit-breaker command). */
  force(state: CircuitBreakerState, nowMs: number): void {
    if (state === CircuitBreakerState.UNKNOWN) throw new RangeError("the breaker cannot be set to UNKNOWN");
    if (state === CircuitBreakerState.OPEN) this.open(nowMs);
    else {
      this.current = state;
      this.failures = 0;
      this.successes = 0;
    }
  }

  private open(nowMs: number): void {
    this.current = CircuitBreakerState.OPEN;
    this.openedAtMs = nowMs;
    this.successes = 0;
  }
}
