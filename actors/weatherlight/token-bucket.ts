/** Capacity and refill rate of a {@link TokenBucket} (worker settings `emergency.*`). */
export interface TokenBucketConfig {
  /** Most tokens held; a full bucket lets a burst of this many through. */
  readonly capacity: number;
  /** Tokens added per minute, accrued continuously, up to the capacity. */
  readonly refillPerMinute: number;
}

/** A token bucket configuration that cannot work (capacity below 1, a refill rate not above 0). */
export class TokenBucketConfigError extends RangeError {
  override readonly name = "TokenBucketConfigError";
}

const MS_PER_MINUTE = 60_000;

/**
 * A token bucket over an injected clock (milliseconds): it starts full, gains `refillPerMinute` tokens
 * per minute up to `capacity`, and {@link TokenBucket.tryTake} spends one whole token. Pure: time
 * only moves when the clock says so.
 */
export class TokenBucket {
  private config: TokenBucketConfig;
  private held: number;
  private at: number;

  constructor(
    config: TokenBucketConfig,
    private readonly now: () => number,
  ) {
    checkConfig(config);
    this.config = config;
    this.held = config.capacity;
    this.at = now();
  }

  /** The configuration in force. */
  get current(): TokenBucketConfig {
    return this.config;
  }

  /** Tokens held now (fractional while refilling). */
  tokens(): number {
    this.refill();
    return this.held;
  }

  /** Spends one token and returns true, or returns false when less than one token is held. */
  tryTake(): boolean {
    this.refill();
    if (this.held < 1) return false;
    this.held -= 1;
    return true;
  }

  /**
   * Applies a new configuration from now on: tokens accrued so far count at the old rate, the tokens
   * held are kept (cut to a smaller capacity), and later refills use the new rate.
   */
  reconfigure(config: TokenBucketConfig): void {
    checkConfig(config);
    this.refill();
    this.config = config;
    this.held = Math.min(this.held, config.capacity);
  }

  private refill(): void {
    const t = this.now();
    const elapsed = t - this.at;
    if (elapsed <= 0) return;
    this.at = t;
    if (this.held >= this.config.capacity) return;
    this.held = Math.min(
      this.config.capacity,
      this.held + (elapsed * this.config.refillPerMinute) / MS_PER_MINUTE,
    );
  }
}

function checkConfig(config: TokenBucketConfig): void {
  if (!(Number.isFinite(config.capacity) && config.capacity >= 1)) {
    throw new TokenBucketConfigError(`token bucket capacity must be a number >= 1, got ${config.capacity}`);
  }
  if (!(Number.isFinite(config.refillPerMinute) && config.refillPerMinute > 0)) {
    throw new TokenBucketConfigError(
      `token bucket refillPerMinute must be a number > 0, got ${config.refillPerMinute}`,
    );
  }
}
