import type { MessageType } from "./registry.ts";

/** How a subject travels: plain publish, request/reply, or a JetStream stream. */
export type SubjectTransport = "core" | "request" | "jetstream";

/** The actors of a stack: the NATS users of its generated server configuration (bus/server/permissions.ts). */
export const STACK_ACTORS = ["weatherlight", "urza", "kasmina", "tamiyo", "tolaria"] as const;
/** One actor of a stack. */
export type StackActor = (typeof STACK_ACTORS)[number];

/**
 * Who may publish on a subject (for a request subject: who sends the request): an actor, `operator`
 * (the CLI's user), or `self` (every actor, with its own name as the `{actor}` token).
 */
export type SubjectPublisher = StackActor | "operator" | "self";

/** One subject of the bus map (ARCHITECTURE §3): its pattern under the namespace and its message type. */
export interface SubjectSpec {
  /** Dot-separated tokens after `<ns>.`; `{param}` tokens are filled per use. */
  readonly pattern: string;
  readonly transport: SubjectTransport;
  /** Who owns the subject: the only users the generated server configuration lets publish on it. */
  readonly publishers: readonly SubjectPublisher[];
  /** The one message type published on this subject. */
  readonly message: MessageType;
  /** For request subjects, the message type of the reply. */
  readonly reply?: MessageType;
  /**
   * For run-level subjects (a `{run}` token): the message field holding the run id, which must equal
   * the `{run}` token; `null` when the message type carries no run id.
   */
  readonly runField?: string | null;
}

/** The subject registry: each subject bound to exactly one message type. */
export const subjects = {
  tamiyoEvaluate: {
    pattern: "tamiyo.evaluate",
    transport: "request",
    publishers: ["tolaria", "operator"],
    message: "SystemStatePacket",
    reply: "TamiyoDecision",
  },
  urzaPrefetch: {
    pattern: "urza.prefetch",
    transport: "request",
    publishers: ["kasmina", "operator"],
    message: "KernelPrefetchRequest",
    reply: "KernelPrefetchResult",
  },
  /** Every instance of an actor: `ping` and `status` only. */
  control: {
    pattern: "{actor}.control",
    transport: "request",
    publishers: ["weatherlight", "operator"],
    message: "ControlRequest",
    reply: "ControlReply",
  },
  /** One instance of an actor (its ESPER_INSTANCE_ID): every verb, state-changing ones signed. */
  controlInstance: {
    pattern: "{actor}.control.{instance}",
    transport: "request",
    publishers: ["weatherlight", "operator"],
    message: "ControlRequest",
    reply: "ControlReply",
  },
  /** The worker settings owner (Weatherlight, queue group `weatherlight`): `get` open, `set` signed. */
  weatherlightSettings: {
    pattern: "weatherlight.settings",
    transport: "request",
    publishers: ["operator"],
    message: "SettingsRequest",
    reply: "SettingsReply",
  },
  heartbeat: { pattern: "heartbeat.{actor}", transport: "core", publishers: ["self"], message: "Heartbeat" },
  telemetryRaw: {
    pattern: "telemetry.raw.{actor}",
    transport: "core",
    publishers: ["self"],
    message: "TelemetryPacket",
  },
  catalogUpdate: {
    pattern: "catalog.update",
    transport: "core",
    publishers: ["urza"],
    message: "KernelCatalogUpdate",
  },
  policyUpdate: {
    pattern: "policy.update",
    transport: "core",
    publishers: ["operator"],
    message: "PolicyUpdate",
  },
  /** Run-level subjects: the `{run}` token is the run id, equal to the message's `runField`. */
  command: {
    pattern: "command.{run}.{target}",
    transport: "jetstream",
    publishers: ["tamiyo", "weatherlight", "operator"],
    message: "AdaptationCommand",
    runField: "trainingRunId",
  },
  seedDirective: {
    pattern: "seed.{run}.directive",
    transport: "jetstream",
    publishers: ["kasmina"],
    message: "SeedDirective",
    runField: "trainingRunId",
  },
  seedReport: {
    pattern: "seed.{run}.report",
    transport: "jetstream",
    publishers: ["tolaria"],
    message: "SeedReport",
    runField: "trainingRunId",
  },
  /** SeedState carries no run id of its own: only the subject names its run. */
  seedState: {
    pattern: "seed.{run}.state",
    transport: "jetstream",
    publishers: ["kasmina"],
    message: "SeedState",
    runField: null,
  },
  statePacket: {
    pattern: "state.{run}",
    transport: "jetstream",
    publishers: ["tolaria"],
    message: "SystemStatePacket",
    runField: "trainingRunId",
  },
  /** Each decision Tamiyo replied for a run, published as well so the run's followers and recordings see it. */
  decision: {
    pattern: "decision.{run}",
    transport: "core",
    publishers: ["tamiyo"],
    message: "TamiyoDecision",
    runField: "trainingRunId",
  },
  telemetryNormal: {
    pattern: "telemetry.normal",
    transport: "jetstream",
    publishers: ["weatherlight"],
    message: "TelemetryPacket",
  },
  telemetryEmergency: {
    pattern: "telemetry.emergency",
    transport: "jetstream",
    publishers: ["weatherlight"],
    message: "TelemetryPacket",
  },
  fieldReport: {
    pattern: "fieldreport.{run}",
    transport: "jetstream",
    publishers: ["tamiyo"],
    message: "FieldReport",
    runField: "trainingRunId",
  },
  emergency: {
    pattern: "emergency.{run}",
    transport: "jetstream",
    publishers: ["tolaria", "operator"],
    message: "EmergencySignal",
    runField: "runId",
  },
  deadLetter: {
    pattern: "deadletter.{stream}",
    transport: "jetstream",
    publishers: ["weatherlight", "urza", "kasmina", "tamiyo", "tolaria"],
    message: "DeadLetter",
  },
} as const satisfies Record<string, SubjectSpec>;

/** The key of a registered subject. */
export type SubjectKey = keyof typeof subjects;

type ParamNames<P extends string> = P extends `${string}{${infer N}}${infer Rest}`
  ? N | ParamNames<Rest>
  : never;
/** The `{param}` values a subject needs. */
export type SubjectParams<K extends SubjectKey> = {
  readonly [N in ParamNames<(typeof subjects)[K]["pattern"]>]: string;
};

/** The message type published on subject `K`. */
export type SubjectMessage<K extends SubjectKey> = (typeof subjects)[K]["message"];

/** The keys of request/reply subjects. */
export type RequestSubjectKey = {
  [K in SubjectKey]: (typeof subjects)[K]["transport"] extends "request" ? K : never;
}[SubjectKey];

/** The reply message type of request subject `K`. */
export type SubjectReply<K extends RequestSubjectKey> = (typeof subjects)[K]["reply"];

const TOKEN = /^[A-Za-z0-9_-]+$/;

/** Thrown when a namespace or subject parameter is not a single safe subject token. */
export class SubjectError extends Error {
  override readonly name = "SubjectError";
}

/** Returns `value` when it is a single safe subject token; otherwise throws a SubjectError naming `what`. */
export function checkToken(what: string, value: string): string {
  if (!TOKEN.test(value)) throw new SubjectError(`${what} '${value}' must match ${TOKEN.source}`);
  return value;
}

/** The concrete subject of `key` under namespace `ns`, e.g. `subjectFor("esper", "command", {target: "kasmina"})`. */
export function subjectFor<K extends SubjectKey>(ns: string, key: K, ...params: ParamArgs<K>): string {
  const values = (params[0] ?? {}) as Record<string, string>;
  const tokens = subjects[key].pattern.split(".").map((t) => {
    if (!t.startsWith("{")) return t;
    const param = t.slice(1, -1);
    const v = values[param];
    if (v === undefined) throw new SubjectError(`subject '${key}' needs parameter '${param}'`);
    return checkToken(`subject parameter '${param}'`, v);
  });
  return `${checkToken("namespace", ns)}.${tokens.join(".")}`;
}

/** Argument list of `subjectFor`: the params object when the pattern has parameters. */
export type ParamArgs<K extends SubjectKey> = [ParamNames<(typeof subjects)[K]["pattern"]>] extends [never]
  ? []
  : [SubjectParams<K>];

/**
 * The subject filter of `key` with the given `params` filled in and every other parameter as `*`:
 * without params it matches every concrete subject of `key`.
 */
export function subjectFilter<K extends SubjectKey>(
  ns: string,
  key: K,
  params: Partial<SubjectParams<K>> = {},
): string {
  const values = params as Readonly<Record<string, string | undefined>>;
  const tokens = subjects[key].pattern.split(".").map((t) => {
    if (!t.startsWith("{")) return t;
    const param = t.slice(1, -1);
    const v = values[param];
    return v === undefined ? "*" : checkToken(`subject parameter '${param}'`, v);
  });
  return `${checkToken("namespace", ns)}.${tokens.join(".")}`;
}

/** Thrown when a run-level message's run id differs from the `{run}` token of the subject it is sent on. */
export class RunMismatchError extends Error {
  override readonly name = "RunMismatchError";
}

/**
 * Checks that run-level message `msg` on subject `key` carries the run of the subject's `{run}`
 * parameter in its run field (see {@link SubjectSpec.runField}); does nothing for other subjects.
 */
export function checkRunToken(key: SubjectKey, params: object | undefined, msg: unknown): void {
  const field = (subjects[key] as SubjectSpec).runField;
  if (field === undefined || field === null) return;
  const run = (params as Readonly<Record<string, unknown>> | undefined)?.run;
  const value = (msg as Readonly<Record<string, unknown>>)[field];
  if (value !== run) {
    throw new RunMismatchError(
      `subject '${key}': message field ${field} '${String(value)}' differs from the subject's run token '${String(run)}'`,
    );
  }
}

/** A concrete subject resolved back to its registry entry. */
export interface ResolvedSubject {
  readonly key: SubjectKey;
  readonly spec: SubjectSpec;
  readonly params: Readonly<Record<string, string>>;
}

const subjectKeys = Object.keys(subjects) as SubjectKey[];
const patternTokens = subjectKeys.map((k) => subjects[k].pattern.split("."));

/** True when pattern `a` has a literal token at the first position where only one of `a`, `b` has one. */
function moreSpecific(a: readonly string[], b: readonly string[]): boolean {
  for (let i = 0; i < a.length; i++) {
    const la = !(a[i] as string).startsWith("{");
    const lb = !(b[i] as string).startsWith("{");
    if (la !== lb) return la;
  }
  return false;
}

/**
 * The registry key whose pattern matches subject `tokens` (the tokens after the namespace), each
 * `{param}` matching a token that passes `paramOk`. When several match (`state.{run}` and
 * `{actor}.control` both match `state.control`), the one with the leftmost literal token wins.
 */
export function matchSubjectTokens(
  tokens: readonly string[],
  paramOk: (token: string) => boolean,
): SubjectKey | undefined {
  let best: number | undefined;
  for (let k = 0; k < subjectKeys.length; k++) {
    const pattern = patternTokens[k] as string[];
    if (pattern.length !== tokens.length) continue;
    let ok = true;
    for (let i = 0; i < pattern.length && ok; i++) {
      const p = pattern[i] as string;
      const t = tokens[i] as string;
      ok = p.startsWith("{") ? paramOk(t) : p === t;
    }
    if (ok && (best === undefined || moreSpecific(pattern, patternTokens[best] as string[]))) best = k;
  }
  return best === undefined ? undefined : subjectKeys[best];
}

/** Resolves a concrete subject under `ns` to its registry entry, or undefined when it is not registered. */
export function resolveSubject(ns: string, subject: string): ResolvedSubject | undefined {
  const prefix = `${ns}.`;
  if (!subject.startsWith(prefix)) return undefined;
  const tokens = subject.slice(prefix.length).split(".");
  const key = matchSubjectTokens(tokens, (t) => TOKEN.test(t));
  if (key === undefined) return undefined;
  const spec: SubjectSpec = subjects[key];
  const params: Record<string, string> = {};
  spec.pattern.split(".").forEach((p, i) => {
    if (p.startsWith("{")) params[p.slice(1, -1)] = tokens[i] as string;
  });
  return { key, spec, params };
}
