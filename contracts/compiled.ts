import { setImmediate as nextTurn } from "node:timers/promises";
import { z } from "zod";
import { type MessageType, messageSchemas } from "./registry.ts";

/**
 * Every message schema compiled by `z.compile`: a generated fast path per schema that hands any input
 * it does not accept to the schema's own parser, so issues (paths and messages) are the schema's own.
 * Each is compiled on its first use and kept (compiling all of them takes ~0.2 s, too long for every
 * actor's start); {@link compileRemaining} compiles the others once the actor is ready.
 */
export const compiledSchemas = {} as { readonly [T in MessageType]: (typeof messageSchemas)[T] };
for (const [type, schema] of Object.entries(messageSchemas)) {
  Object.defineProperty(compiledSchemas, type, {
    enumerable: true,
    configurable: true,
    get() {
      const compiled = z.compile(schema);
      Object.defineProperty(compiledSchemas, type, { value: compiled, enumerable: true });
      return compiled;
    },
  });
}

/** Whether `type`'s schema has been compiled. */
export function isCompiled(type: MessageType): boolean {
  return Object.getOwnPropertyDescriptor(compiledSchemas, type)?.get === undefined;
}

/**
 * Compiles every schema not compiled yet, one per turn of the event loop, so a message handled meanwhile
 * waits for at most one compile (the largest, TamiyoDecision, takes tens of ms) and the first message
 * of a type does not pay for its compile. Stops early when `signal` aborts.
 */
export async function compileRemaining(signal?: AbortSignal): Promise<void> {
  for (const type of Object.keys(messageSchemas) as MessageType[]) {
    if (signal?.aborted) return;
    if (isCompiled(type)) continue;
    await nextTurn();
    void compiledSchemas[type];
  }
}
