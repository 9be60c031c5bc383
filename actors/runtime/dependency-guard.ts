import { statSync } from "node:fs";

/** What kind of dependency was missing or faked. */
export type ViolationKind = "id" | "artifact" | "key" | "fallback";

/** A required dependency is missing, empty, a placeholder, or was about to be replaced by a fallback. */
export class DependencyViolationError extends Error {
  override readonly name = "DependencyViolationError";
  constructor(
    readonly kind: ViolationKind,
    /** What was required, e.g. `seed id`, `policy model`, `ESPER_SIGNING_KEY`. */
    readonly what: string,
    readonly reason: string,
  ) {
    super(`dependency violation (${kind}): ${what} ${reason}`);
  }
}

type ViolationListener = (violation: DependencyViolationError) => void;
const listeners = new Set<ViolationListener>();

/**
 * Registers a listener told of every violation before it is thrown (the telemetry emitter uses it to
 * publish CRITICAL `dependency_guard.violation`). Returns a function that removes it.
 */
export function onViolation(listener: ViolationListener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function violate(kind: ViolationKind, what: string, reason: string): never {
  const error = new DependencyViolationError(kind, what, reason);
  for (const l of [...listeners]) l(error);
  throw error;
}

/** Values that stand in for a real identifier (compared case-insensitively after trimming). */
export const PLACEHOLDER_IDS: ReadonlySet<string> = new Set([
  "unknown",
  "default",
  "placeholder",
  "none",
  "null",
  "undefined",
  "nil",
  "n/a",
  "na",
  "tbd",
  "todo",
  "fallback",
  "dummy",
  "missing",
  "00000000-0000-0000-0000-000000000000",
]);

/** True for an empty, whitespace-only or placeholder identifier (see PLACEHOLDER_IDS). */
export function isPlaceholderId(value: string): boolean {
  const v = value.trim().toLowerCase();
  return v === "" || PLACEHOLDER_IDS.has(v) || /^0+$/.test(v);
}

/** Returns `value` when it is a real identifier; otherwise throws a DependencyViolationError naming `what`. */
export function requireId(what: string, value: string | null | undefined): string {
  if (value === null || value === undefined) return violate("id", what, "is missing");
  if (value.trim() === "") return violate("id", what, "is empty");
  if (value !== value.trim()) return violate("id", what, `has surrounding whitespace ('${value}')`);
  if (isPlaceholderId(value)) return violate("id", what, `is a placeholder ('${value}')`);
  return value;
}

/** Returns `value` when present (not null or undefined); otherwise throws naming the missing artifact. */
export function requireArtifact<T>(what: string, value: T | null | undefined): T {
  if (value === null || value === undefined) return violate("artifact", what, "is missing");
  return value;
}

/** Returns `path` when it names an existing non-empty file; otherwise throws naming the artifact and path. */
export function requireArtifactFile(what: string, path: string | null | undefined): string {
  if (path === null || path === undefined || path.trim() === "")
    return violate("artifact", what, "has no path");
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) return violate("artifact", what, `is not a file: ${path}`);
    size = st.size;
  } catch (error) {
    if (error instanceof DependencyViolationError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return violate("artifact", what, `not found at ${path}`);
    return violate("artifact", what, `cannot be read at ${path}: ${(error as Error).message}`);
  }
  if (size === 0) return violate("artifact", what, `is an empty file: ${path}`);
  return path;
}

/** Returns `value` when it is a non-empty, non-placeholder secret; the message never contains the value. */
export function requireKey(name: string, value: string | null | undefined): string {
  if (value === null || value === undefined) return violate("key", name, "is not set");
  if (value.trim() === "") return violate("key", name, "is empty");
  if (
    isPlaceholderId(value) ||
    ["changeme", "secret", "password", "key"].includes(value.trim().toLowerCase())
  ) {
    return violate("key", name, "is a placeholder value");
  }
  return value;
}

/** Marks a place where code would otherwise fall back to a substitute; always throws. */
export function forbidFallback(what: string, detail = "no fallback is allowed"): never {
  return violate("fallback", what, detail);
}
