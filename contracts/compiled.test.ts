import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import { SystemLimits } from "./budgets.ts";
import { compiledSchemas } from "./compiled.ts";
import { encodeMsgpack } from "./msgpack-encode.ts";
import { type MessageType, messageSchemas } from "./registry.ts";
import { arbitraries } from "./testing/arbitraries.ts";

const types = Object.keys(messageSchemas) as MessageType[];

type Path = readonly (string | number)[];

/** Values that break some field: wrong types, empty or padded ids, non-finite and out-of-range numbers. */
const junk = fc.constantFrom<unknown>(
  null,
  undefined,
  "",
  " padded ",
  "x".repeat(SystemLimits.maxTextLength + 1),
  -1,
  0,
  1.5,
  2 ** 32,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  true,
  {},
  [],
  { unknownKey: 1 },
  new Float32Array([Number.NaN]),
  new Uint8Array(2),
);

/** Every path into `value` (object keys and array indexes), the empty path included. */
function pathsOf(value: unknown, prefix: Path = []): Path[] {
  const out: Path[] = [prefix];
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) out.push(...pathsOf(v, [...prefix, i]));
  } else if (value !== null && typeof value === "object" && !ArrayBuffer.isView(value)) {
    for (const [k, v] of Object.entries(value)) out.push(...pathsOf(v, [...prefix, k]));
  }
  return out;
}

/** A copy of `value` with `replacement` at `path`, or with an unknown key added to the object there. */
function mutated(value: unknown, path: Path, replacement: unknown, addKey: boolean): unknown {
  const copy = structuredClone(value);
  if (path.length === 0) return addKey ? { ...(copy as object), unknownKey: 1 } : replacement;
  let parent = copy as Record<string | number, unknown>;
  for (const step of path.slice(0, -1)) parent = parent[step] as Record<string | number, unknown>;
  const last = path[path.length - 1] as string | number;
  const target = parent[last];
  if (addKey && target !== null && typeof target === "object" && !Array.isArray(target)) {
    (target as Record<string, unknown>).unknownKey = 1;
  } else if (replacement === undefined && !Array.isArray(parent)) delete parent[last];
  else parent[last] = replacement;
  return copy;
}

function expectAgreement(type: MessageType, value: unknown): boolean {
  const plain = messageSchemas[type].safeParse(value);
  const compiled = compiledSchemas[type].safeParse(value);
  expect(compiled.success).toBe(plain.success);
  if (plain.success && compiled.success) {
    expect(compiled.data).toEqual(plain.data);
    expect(encodeMsgpack(compiled.data)).toEqual(encodeMsgpack(plain.data));
  } else expect(compiled.error?.issues).toEqual(plain.error?.issues);
  return plain.success;
}

describe("compiled schemas agree with the zod schemas", () => {
  it.each(types)("%s: valid messages parse to the same value and encoding", (type) => {
    fc.assert(
      fc.property(arbitraries[type] as fc.Arbitrary<unknown>, (msg) => {
        expect(expectAgreement(type, msg)).toBe(true);
      }),
      { numRuns: 40, seed: 5 },
    );
  });

  it.each(types)("%s: damaged messages get the same issues", (type) => {
    const damaged = fc
      .tuple(arbitraries[type] as fc.Arbitrary<unknown>, fc.nat(), junk, fc.boolean())
      .map(([msg, at, replacement, addKey]) => {
        const paths = pathsOf(msg);
        return mutated(msg, paths[at % paths.length] as Path, replacement, addKey);
      });
    let rejected = 0;
    fc.assert(
      fc.property(damaged, (msg) => {
        if (!expectAgreement(type, msg)) rejected++;
      }),
      { numRuns: 80, seed: 9 },
    );
    expect(rejected).toBeGreaterThan(40);
  });
});

describe("compiledSchemas", () => {
  it("compiles a type on its first use only, and keeps it", async () => {
    vi.resetModules();
    const fresh = (await import("./compiled.ts")).compiledSchemas;
    expect(Object.keys(fresh)).toEqual(types);
    for (const type of types) expect(Object.getOwnPropertyDescriptor(fresh, type)?.get).toBeDefined();
    const first = fresh.Heartbeat;
    expect(Object.getOwnPropertyDescriptor(fresh, "Heartbeat")?.value).toBe(first);
    expect(Object.getOwnPropertyDescriptor(fresh, "SeedState")?.get).toBeDefined();
    expect(fresh.Heartbeat).toBe(first);
  });

  it("compileRemaining compiles every type not compiled yet, and stops when its signal aborts", async () => {
    vi.resetModules();
    const fresh = await import("./compiled.ts");
    const stopped = new AbortController();
    stopped.abort();
    await fresh.compileRemaining(stopped.signal);
    expect(types.filter(fresh.isCompiled)).toEqual([]);
    void fresh.compiledSchemas.Heartbeat;
    expect(types.filter(fresh.isCompiled)).toEqual(["Heartbeat"]);
    await fresh.compileRemaining();
    expect(types.filter((t) => !fresh.isCompiled(t))).toEqual([]);
    expect(fresh.compiledSchemas.Heartbeat.safeParse({}).success).toBe(false);
  });
});
