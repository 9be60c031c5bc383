import type { MessageType } from "./registry.ts";

/** How a subject travels: plain publish, request/reply, or a JetStream stream. */
export type SubjectTransport = "core" | "request" | "jetstream";

/** One subject of the bus map (ARCHITECTURE §3): its pattern under the namespace and its message type. */
export interface SubjectSpec {
  /** Dot-separated tokens after `<ns>.`; `{param}` tokens are filled per use. */
  readonly pattern: string;
  readonly transport: SubjectTransport;
  /** The one message type published on this subject. */
  readonly message: MessageType;
  /** For request subjects, the message type of the reply. */
  readonly reply?: MessageType;
}

/** The subject registry: each subject bound to exactly one message type. */
export const subjects = {
  tamiyoEvaluate: {
    pattern: "tamiyo.evaluate",
    transport: "request",
    message: "SystemStatePacket",
    reply: "TamiyoDecision",
  },
  urzaPrefetch: {
    pattern: "urza.prefetch",
    transport: "request",
    message: "KernelPrefetchRequest",
    reply: "KernelPrefetchResult",
  },
  /** Every instance of an actor: `ping` and `status` only. */
  control: {
    pattern: "{actor}.control",
    transport: "request",
    message: "ControlRequest",
    reply: "ControlReply",
  },
  /** One instance of an actor (its ESPER_INSTANCE_ID): every verb, state-changing ones signed. */
  controlInstance: {
    pattern: "{actor}.control.{instance}",
    transport: "request",
    message: "ControlRequest",
    reply: "ControlReply",
  },
  heartbeat: { pattern: "heartbeat.{actor}", transport: "core", message: "Heartbeat" },
  telemetryRaw: { pattern: "telemetry.raw.{actor}", transport: "core", message: "TelemetryPacket" },
  catalogUpdate: { pattern: "catalog.update", transport: "core", message: "KernelCatalogUpdate" },
  policyUpdate: { pattern: "policy.update", transport: "core", message: "PolicyUpdate" },
  command: { pattern: "command.{target}", transport: "jetstream", message: "AdaptationCommand" },
  seedDirective: { pattern: "seed.directive", transport: "jetstream", message: "SeedDirective" },
  seedReport: { pattern: "seed.report", transport: "jetstream", message: "SeedReport" },
  seedState: { pattern: "seed.state", transport: "jetstream", message: "SeedState" },
  statePacket: { pattern: "state.packet", transport: "jetstream", message: "SystemStatePacket" },
  telemetryNormal: { pattern: "telemetry.normal", transport: "jetstream", message: "TelemetryPacket" },
  telemetryEmergency: { pattern: "telemetry.emergency", transport: "jetstream", message: "TelemetryPacket" },
  fieldReport: { pattern: "fieldreport", transport: "jetstream", message: "FieldReport" },
  emergency: { pattern: "emergency", transport: "jetstream", message: "EmergencySignal" },
  deadLetter: { pattern: "deadletter.{stream}", transport: "jetstream", message: "DeadLetter" },
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

function checkToken(what: string, value: string): string {
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

/** The subject filter that matches every concrete subject of `key` (parameters as `*`). */
export function subjectFilter(ns: string, key: SubjectKey): string {
  const tokens = subjects[key].pattern.split(".").map((t) => (t.startsWith("{") ? "*" : t));
  return `${checkToken("namespace", ns)}.${tokens.join(".")}`;
}

/** A concrete subject resolved back to its registry entry. */
export interface ResolvedSubject {
  readonly key: SubjectKey;
  readonly spec: SubjectSpec;
  readonly params: Readonly<Record<string, string>>;
}

/** Resolves a concrete subject under `ns` to its registry entry, or undefined when it is not registered. */
export function resolveSubject(ns: string, subject: string): ResolvedSubject | undefined {
  const prefix = `${ns}.`;
  if (!subject.startsWith(prefix)) return undefined;
  const tokens = subject.slice(prefix.length).split(".");
  for (const key of Object.keys(subjects) as SubjectKey[]) {
    const spec: SubjectSpec = subjects[key];
    const pattern = spec.pattern.split(".");
    if (pattern.length !== tokens.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < pattern.length && ok; i++) {
      const p = pattern[i] as string;
      const t = tokens[i] as string;
      if (p.startsWith("{")) {
        if (TOKEN.test(t)) params[p.slice(1, -1)] = t;
        else ok = false;
      } else ok = p === t;
    }
    if (ok) return { key, spec, params };
  }
  return undefined;
}
