import { z } from "zod";
import { SystemLimits } from "./budgets.ts";

/** Unicode control characters (general category Cc) as a regex class body; a non-`u` regex is faster. */
const CONTROL = "\\x00-\\x1f\\x7f-\\x9f";

/** A non-empty identifier without surrounding whitespace or control characters. */
export const id = z
  .string()
  .regex(
    new RegExp(`^[^\\s${CONTROL}](?:[^${CONTROL}]{0,${SystemLimits.maxIdLength - 2}}[^\\s${CONTROL}])?$`),
    `must be 1 to ${SystemLimits.maxIdLength} characters without surrounding whitespace or control characters`,
  );

/** A bounded free text. */
export const text = z.string().max(SystemLimits.maxTextLength);

/** A bounded non-empty name (metric, event, actor, ...). */
export const name = z.string().refine((s) => s.length >= 1 && s.length <= 256, "must be 1 to 256 characters");

/** A finite number (zod rejects NaN and ±Infinity). */
export const finite = z.number();

/** A finite number >= 0. */
export const nonNegative = z.number().refine((v) => v >= 0, "must be >= 0");

/** A fraction in [0, 1]. */
export const unit = z.number().refine((v) => v >= 0 && v <= 1, "must be in [0, 1]");

/** An unsigned 32-bit integer. */
export const uint32 = z.uint32();

/** A non-negative safe integer (counters, steps; 64-bit fields of the original). */
export const count = z
  .number()
  .refine((v) => Number.isSafeInteger(v) && v >= 0, "must be a non-negative safe integer");

/** Milliseconds since the Unix epoch. */
export const timestampMs = count;

/** A map from name to finite number with at most `max` entries (hand-checked: per-key zod parsing is slow). */
export function boundedNumberMap(max: number = SystemLimits.maxMapEntries) {
  return boundedMap<number>(max, (v) =>
    typeof v === "number" && Number.isFinite(v) ? undefined : "must be a finite number",
  );
}

/** A map from name to bounded text with at most `max` entries. */
export function boundedTextMap(max: number = SystemLimits.maxMapEntries) {
  return boundedMap<string>(max, (v) =>
    typeof v !== "string"
      ? "must be a string"
      : v.length > SystemLimits.maxTextLength
        ? `must be at most ${SystemLimits.maxTextLength} characters`
        : undefined,
  );
}

function boundedMap<V>(max: number, checkValue: (v: unknown) => string | undefined) {
  const problem = (map: unknown): string | undefined => {
    if (typeof map !== "object" || map === null || Array.isArray(map) || ArrayBuffer.isView(map)) {
      return "must be a map";
    }
    let n = 0;
    for (const key in map) {
      if (!Object.hasOwn(map, key)) continue;
      if (++n > max) return `must have at most ${max} entries`;
      if (key.length === 0 || key.length > 256)
        return `key '${key.slice(0, 64)}' must be 1 to 256 characters`;
      const bad = checkValue((map as Record<string, unknown>)[key]);
      if (bad !== undefined) return `key '${key}' ${bad}`;
    }
    return undefined;
  };
  return z.custom<Record<string, V>>((map) => problem(map) === undefined, {
    error: (issue) => problem(issue.input) ?? "must be a valid map",
  });
}

/** A schema accepting exactly the non-zero codes of a Leyline enum (0 means unset and is refused). */
export function enumCode<E extends Record<string, number>>(e: E, enumName: string) {
  const codes = Object.values(e).filter((c): c is Exclude<E[keyof E], 0> => c !== 0);
  const names = Object.entries(e)
    .filter(([, c]) => c !== 0)
    .map(([n, c]) => `${n}=${c}`)
    .join(", ");
  return z.literal(codes, { error: `must be a ${enumName} code (${names})` });
}

/** Lowercase hex SHA-256 digest. */
export const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, "must be a lowercase hex sha256 digest");

/** A Float32Array (carried as a typed array through the msgpack extension). */
export const float32Array = z
  .instanceof(Float32Array, { message: "must be a Float32Array" })
  .refine(allFinite, "must hold only finite numbers");

function allFinite(a: Float32Array): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return false;
  return true;
}

/** Raw bytes. */
export const bytes = z.instanceof(Uint8Array, { message: "must be bytes (Uint8Array)" });
