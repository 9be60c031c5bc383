import type { z } from "zod";
import { type MessageType, messageSchemas } from "../contracts/registry.ts";
import { matchSubjectTokens, type SubjectSpec, subjects } from "../contracts/subjects.ts";

/** The label of a subject that is not in the registry. */
export const UNKNOWN_SUBJECT = "unknown_subject";
/** The label of a field path segment that names no field of the message type (a key chosen by a sender). */
export const UNKNOWN_KEY = "unknown_key";

/**
 * The registry spec of concrete `subject` (`<namespace>.<tokens>`, any namespace), or undefined. The
 * pattern's `{param}` tokens match any token.
 */
function specOfSubject(subject: string): SubjectSpec | undefined {
  const key = matchSubjectTokens(subject.split(".").slice(1), () => true);
  return key === undefined ? undefined : subjects[key];
}

const KV_ENTRY = /^kv ([^/\s]+)\//;

/**
 * The metric label of concrete `subject`: its registry pattern (e.g. `command.{target}`), `kv <bucket>`
 * for a KV entry (`kv <bucket>/<key>`, as kv.ts names it), or `unknown_subject`.
 */
export function subjectLabel(subject: string): string {
  const kv = KV_ENTRY.exec(subject);
  if (kv !== null) return `kv ${kv[1]}`;
  return specOfSubject(subject)?.pattern ?? UNKNOWN_SUBJECT;
}

type Def = {
  readonly type: string;
  readonly shape?: Record<string, z.ZodType>;
  readonly element?: z.ZodType;
  readonly valueType?: z.ZodType;
  readonly innerType?: z.ZodType;
  readonly in?: z.ZodType;
  readonly options?: readonly z.ZodType[];
  readonly items?: readonly z.ZodType[];
  readonly getter?: () => z.ZodType;
};

function defOf(schema: z.ZodType): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def;
}

/** Unwraps optional/default/nullable/readonly/pipe/lazy wrappers down to the schema that holds fields. */
function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  for (let i = 0; i < 16; i++) {
    const d = defOf(s);
    if (d.innerType !== undefined) s = d.innerType;
    else if (d.type === "pipe" && d.in !== undefined) s = d.in;
    else if (d.type === "lazy" && d.getter !== undefined) s = d.getter();
    else return s;
  }
  return s;
}

/** The schema of field `key` of `schema`, or undefined when no field (of any union member) has that name. */
function fieldOf(schema: z.ZodType, key: string): z.ZodType | undefined {
  const d = defOf(unwrap(schema));
  if (d.type === "object")
    return d.shape !== undefined && Object.hasOwn(d.shape, key) ? d.shape[key] : undefined;
  if (d.type === "union") {
    for (const o of d.options ?? []) {
      const f = fieldOf(o, key);
      if (f !== undefined) return f;
    }
  }
  return undefined;
}

/** The schema of the items of `schema` (array element, tuple item, record value), or undefined. */
function itemOf(schema: z.ZodType, index: number): z.ZodType | undefined {
  const d = defOf(unwrap(schema));
  if (d.type === "array") return d.element;
  if (d.type === "tuple") return d.items?.[index];
  if (d.type === "record") return d.valueType;
  return undefined;
}

/**
 * The metric label of a field path of a message of `type`: the field names the type declares, `[]` for
 * array indices, `*` for record keys, `unknown_key` for the first name the type does not declare (the
 * rest dropped), `header:<name>` as is. Bounded by the schema, whatever a sender sends.
 */
export function fieldLabel(type: MessageType, path: readonly (string | number)[]): string {
  if (path.length === 0) return "<root>";
  const first = path[0];
  if (typeof first === "string" && first.startsWith("header:")) return first;
  let schema: z.ZodType | undefined = messageSchemas[type];
  let out = "";
  for (const seg of path) {
    if (schema === undefined) return `${out}${out === "" ? "" : "."}${UNKNOWN_KEY}`;
    if (typeof seg === "number") {
      schema = itemOf(schema, seg);
      out += "[]";
      continue;
    }
    const field = fieldOf(schema, seg);
    if (field !== undefined) {
      schema = field;
      out += out === "" ? seg : `.${seg}`;
    } else if (defOf(unwrap(schema)).type === "record") {
      schema = itemOf(schema, 0);
      out += out === "" ? "*" : ".*";
    } else {
      return `${out}${out === "" ? "" : "."}${UNKNOWN_KEY}`;
    }
  }
  return out;
}
