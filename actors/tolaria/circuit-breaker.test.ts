import { describe, expect, it } from "vitest";
import { CircuitBreakerState } from "../../contracts/enums.ts";
import { CircuitBreaker } from "./circuit-breaker.ts";

const settings = { failureThreshold: 3, successThreshold: 1, openTimeoutMs: 30_000 };

describe("CircuitBreaker", () => {
  it("opens after 3 consecutive failures, half-opens after 30 s, closes on a success", () => {
    const b = new CircuitBreaker(settings);
    expect(b.failure(0)).toBe(false);
    b.success(1);
    expect([b.failure(2), b.failure(3)]).toEqual([false, false]);
    expect(b.failure(4)).toBe(true);
    expect(b.state(29_999)).toBe(CircuitBreakerState.OPEN);
    expect(b.state(30_004)).toBe(CircuitBreakerState.HALF_OPEN);
    b.success(30_005);
    expect(b.state(30_005)).toBe(CircuitBreakerState.CLOSED);
  });

  it("reopens on a failure while half-open, and follows a forced state", () => {
    const b = new CircuitBreaker(settings);
    b.force(CircuitBreakerState.OPEN, 0);
    expect(b.state(30_000)).toBe(CircuitBreakerState.HALF_OPEN);
    expect(b.failure(30_001)).toBe(true);
    expect(b.state(30_002)).toBe(CircuitBreakerState.OPEN);
    b.force(CircuitBreakerState.CLOSED, 30_003);
    expect(b.state(30_003)).toBe(CircuitBreakerState.CLOSED);
    expect(() => b.force(CircuitBreakerState.UNKNOWN, 0)).toThrow("UNKNOWN");
  });
});
