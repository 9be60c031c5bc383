import { z } from "zod";
import { SystemLimits } from "./budgets.ts";

/** A non-empty identifier without surrounding whitespace or control characters. */
export const id = z
  .string()
  .regex(
    new RegExp(`^[^\\s\\p{Cc}](?:[^\\p{Cc}]{0,${SystemLimits.maxIdLength - 2}}[^\\s\\p{Cc}])?$`, "u"),
    `must be 1 to ${SystemLimits.maxIdLength} characters without surrounding whitespace or control characters`,
  );

/** A bounded free text. */
export const text = z.string().max(SystemLimits.maxTextLength);

/** A bounded non-empty name (metric, event, actor, ...). */
export const name = z.string().min(1, "must not be empty").max(256);

/** A finite number (zod rejects NaN and ±Infinity). */
export const finite = z.number();

/** A finite number >= 0. */
export const nonNegative = z.number().min(0);

/** A fraction in [0, 1]. */
export const unit = z.number().min(0).max(1);

/** An unsigned 32-bit integer. */
export const uint32 = z.uint32();

/** A non-negative safe integer (counters, steps; 64-bit fields of the original). */
export const count = z.int().min(0);

/** Milliseconds since the Unix epoch. */
export const timestampMs = z.int().min(0);

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
  return z
    .custom<Record<string, V>>(
      (v) => typeof v === "object" && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v),
      "must be a map",
    )
    .superRefine((map, ctx) => {
      let n = 0;
      for (const key in map) {
        if (!Object.hasOwn(map, key)) continue;
        if (++n > max) {
          ctx.addIssue({ code: "custom", message: `must have at most ${max} entries`, path: [] });
          return;
        }
        if (key.length === 0 || key.length > 256) {
          ctx.addIssue({ code: "custom", message: "key must be 1 to 256 characters", path: [key] });
        }
        const problem = checkValue(map[key]);
        if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem, path: [key] });
      }
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
