import { describe, expect, it } from "vitest";
import { TokenBucket, TokenBucketConfigError } from "./token-bucket.ts";

function clock(start = 1_000) {
  let t = start;
  return {
    now: () => t,
    advance(ms: number) {
      t += ms;
    },
  };
}

function takeAll(bucket: TokenBucket, tries: number): number {
  let taken = 0;
  for (let i = 0; i < tries; i++) if (bucket.tryTake()) taken++;
  return taken;
}

describe("TokenBucket", () => {
  it("starts full and lets exactly its capacity through a burst", () => {
    const c = clock();
    const bucket = new TokenBucket({ capacity: 100, refillPerMinute: 60 }, c.now);
    expect(takeAll(bucket, 1_000)).toBe(100);
    expect(bucket.tryTake()).toBe(false);
  });

  it("refills at refillPerMinute, only whole tokens are spent", () => {
    const c = clock();
    const bucket = new TokenBucket({ capacity: 10, refillPerMinute: 60 }, c.now);
    takeAll(bucket, 10);
    c.advance(999);
    expect(bucket.tryTake()).toBe(false);
    c.advance(1);
    expect(bucket.tryTake()).toBe(true);
    expect(bucket.tryTake()).toBe(false);
    c.advance(5_000);
    expect(takeAll(bucket, 100)).toBe(5);
  });

  it("never holds more than its capacity however long it waits", () => {
    const c = clock();
    const bucket = new TokenBucket({ capacity: 3, refillPerMinute: 600 }, c.now);
    takeAll(bucket, 3);
    c.advance(3_600_000);
    expect(bucket.tokens()).toBe(3);
    expect(takeAll(bucket, 10)).toBe(3);
  });

  it("does not refill when the clock goes backwards", () => {
    const c = clock(10_000);
    const bucket = new TokenBucket({ capacity: 2, refillPerMinute: 60 }, c.now);
    takeAll(bucket, 2);
    c.advance(-5_000);
    expect(bucket.tryTake()).toBe(false);
    c.advance(5_999);
    expect(bucket.tryTake()).toBe(false);
    c.advance(1);
    expect(bucket.tryTake()).toBe(true);
  });

  it("reconfigure keeps the tokens held, cuts them to a smaller capacity and refills at the new rate", () => {
    const c = clock();
    const bucket = new TokenBucket({ capacity: 10, refillPerMinute: 60 }, c.now);
    takeAll(bucket, 4);
    bucket.reconfigure({ capacity: 20, refillPerMinute: 60 });
    expect(bucket.tokens()).toBe(6);
    bucket.reconfigure({ capacity: 3, refillPerMinute: 6_000 });
    expect(bucket.tokens()).toBe(3);
    takeAll(bucket, 3);
    c.advance(10);
    expect(bucket.tryTake()).toBe(true);
    expect(bucket.current).toEqual({ capacity: 3, refillPerMinute: 6_000 });
  });

  it("refuses a capacity below 1 or a refill rate not above 0, naming the field", () => {
    const c = clock();
    expect(() => new TokenBucket({ capacity: 0, refillPerMinute: 1 }, c.now)).toThrow(
      /capacity must be a number >= 1, got 0/,
    );
    expect(() => new TokenBucket({ capacity: 1, refillPerMinute: 0 }, c.now)).toThrow(TokenBucketConfigError);
    const bucket = new TokenBucket({ capacity: 1, refillPerMinute: 1 }, c.now);
    expect(() => bucket.reconfigure({ capacity: 1, refillPerMinute: Number.NaN })).toThrow(/refillPerMinute/);
  });
});
