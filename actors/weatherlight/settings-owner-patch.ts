import { validate } from "../../contracts/codec.ts";
import { ContractError } from "../../contracts/errors.ts";
import {
  type SettingsAssignment,
  type SettingsChange,
  SettingsPath,
  type SettingsRefusal,
  type SettingsValue,
} from "../../contracts/messages/settings-request.ts";
import type { WorkerSettings } from "../../contracts/messages/worker-settings.ts";

/** A `key=value` argument that cannot be read as an assignment. */
export class SettingsArgumentError extends Error {
  override readonly name = "SettingsArgumentError";
}

/**
 * The value of a `key=value` argument: JSON when it reads as a JSON number, boolean or string
 * (`500`, `true`, `"text"`), else the text itself. JSON null, objects, arrays and non-finite numbers
 * are refused: a set assigns one leaf at a time.
 */
export function parseSettingsValue(raw: string): SettingsValue {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return raw;
  }
  if (typeof parsed === "number" && Number.isFinite(parsed)) return parsed;
  if (typeof parsed === "boolean" || typeof parsed === "string") return parsed;
  throw new SettingsArgumentError(
    `value '${raw}' must be a finite number, a boolean or a string: a set assigns one setting at a time`,
  );
}

/** Reads `timeouts.decisionDeadlineMs=500` as the assignment of 500 to that dotted path. */
export function parseAssignment(arg: string): SettingsAssignment {
  const eq = arg.indexOf("=");
  if (eq < 0) throw new SettingsArgumentError(`'${arg}' must be key=value (e.g. worker.concurrency=8)`);
  const path = arg.slice(0, eq);
  if (!SettingsPath.safeParse(path).success)
    throw new SettingsArgumentError(
      `key '${path}' must be camelCase keys joined by dots (e.g. worker.concurrency)`,
    );
  return { path, value: parseSettingsValue(arg.slice(eq + 1)) };
}

/** The leaf at a dotted path of the settings, or undefined when the path names no leaf. */
export function settingAt(settings: WorkerSettings, path: string): SettingsValue | object | undefined {
  let node: unknown = settings;
  for (const key of path.split(".")) {
    if (typeof node !== "object" || node === null || !Object.hasOwn(node, key)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node as SettingsValue | object;
}

/** What applying a set gives: the next settings and the leaves that changed, or the refusal. */
export type SettingsPatchResult =
  | { readonly ok: true; readonly next: WorkerSettings; readonly changed: readonly SettingsChange[] }
  | { readonly ok: false; readonly error: SettingsRefusal };

/**
 * Applies `changes` (in order; a later one of the same path wins) to `current`: each path must name an
 * existing leaf (not `revision`, which counts the changes, and not a group), the merged settings must
 * pass the WorkerSettings schema, and when a leaf changed `revision` is incremented. A refusal names the
 * field and the reason; nothing is partly applied. Pure.
 */
export function applySettingsChanges(
  current: WorkerSettings,
  changes: readonly SettingsAssignment[],
): SettingsPatchResult {
  const merged = structuredClone(current) as unknown as Record<string, unknown>;
  for (const { path, value } of changes) {
    const refusal = assign(merged, path, value);
    if (refusal !== undefined) return { ok: false, error: refusal };
  }
  merged.revision = current.revision + 1;
  let next: WorkerSettings;
  try {
    next = validate("WorkerSettings", merged);
  } catch (error) {
    if (error instanceof ContractError)
      return { ok: false, error: { field: error.field, reason: error.reason } };
    throw error;
  }
  const changed = new Map<string, SettingsChange>();
  for (const { path } of changes) {
    const from = settingAt(current, path) as SettingsValue;
    const to = settingAt(next, path) as SettingsValue;
    if (from !== to) changed.set(path, { path, from, to });
    else changed.delete(path);
  }
  if (changed.size === 0) return { ok: true, next: current, changed: [] };
  return { ok: true, next, changed: [...changed.values()] };
}

/** Sets the leaf at `path` of `root` to `value`, or says why it cannot. */
function assign(
  root: Record<string, unknown>,
  path: string,
  value: SettingsValue,
): SettingsRefusal | undefined {
  if (path === "revision")
    return { field: "revision", reason: "is kept by Weatherlight (it counts the changes); it cannot be set" };
  const keys = path.split(".");
  let node = root;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    const field = keys.slice(0, i + 1).join(".");
    if (!Object.hasOwn(node, key)) return { field, reason: "unknown setting" };
    const child = node[key];
    const isGroup = typeof child === "object" && child !== null;
    if (i === keys.length - 1) {
      if (isGroup) return { field, reason: "is a group of settings: set one of its keys" };
      node[key] = value;
      return undefined;
    }
    if (!isGroup) return { field, reason: "is a setting, not a group of settings" };
    node = child as Record<string, unknown>;
  }
  return undefined;
}
