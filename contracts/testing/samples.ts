import fc from "fast-check";
import type { MessageInput, MessageType } from "../registry.ts";
import { arbitraries } from "./arbitraries.ts";

/** One deterministic valid sample of message type `T` (seeded, for tests and benchmarks). */
export function sampleOf<T extends MessageType>(type: T, seed = 1): MessageInput<T> {
  const [value] = fc.sample(arbitraries[type] as fc.Arbitrary<MessageInput<T>>, { seed, numRuns: 1 });
  if (value === undefined) throw new Error(`no sample for ${type}`);
  return value;
}
