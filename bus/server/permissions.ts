import { randomBytes } from "node:crypto";
import { storeName } from "../../contracts/stores.ts";
import {
  checkToken,
  STACK_ACTORS,
  type StackActor,
  type SubjectKey,
  subjectFilter,
  subjects,
} from "../../contracts/subjects.ts";

/** The NATS user of the operator's CLI (`esper command`, `esper settings`, …): publishes and subscribes anywhere. */
export const OPERATOR_USER = "operator";

/** Every user of a stack's server configuration: one per actor, then the operator. */
export const STACK_USERS = [...STACK_ACTORS, OPERATOR_USER] as const;
/** One user of a stack's server configuration. */
export type StackUser = (typeof STACK_USERS)[number];

/** What one user may publish and subscribe to; `publishDeny` overrides `publish`. */
export interface UserPermissions {
  readonly publish: readonly string[];
  readonly publishDeny: readonly string[];
  readonly subscribe: readonly string[];
}

/**
 * The JetStream API calls that create, change, delete or purge streams. Only Weatherlight (which
 * declares the resources) makes them; Urza may purge too (an object-store put that replaces an
 * object purges the old chunks).
 */
const STREAM_ADMIN_API = [
  "$JS.API.STREAM.CREATE.>",
  "$JS.API.STREAM.UPDATE.>",
  "$JS.API.STREAM.DELETE.>",
  "$JS.API.STREAM.PURGE.>",
  "$JS.API.STREAM.MSG.DELETE.>",
];

function streamAdminDenied(actor: StackActor): string[] {
  if (actor === "weatherlight") return [];
  if (actor === "urza") return STREAM_ADMIN_API.filter((s) => s !== "$JS.API.STREAM.PURGE.>");
  return [...STREAM_ADMIN_API];
}

/**
 * The KV buckets and object stores each actor writes (`$KV.<bucket>.>`, `$O.<store>.>`); reading needs
 * only the JetStream API. Weatherlight writes the worker settings (and removes Kasmina's state of a
 * finished run), Urza the catalog and the kernels, Kasmina its per-run state.
 */
const storeWriters: Readonly<Record<StackActor, readonly string[]>> = {
  weatherlight: ["$KV.{settings}.>", "$KV.{kasminaState}.>"],
  urza: ["$KV.{catalog}.>", "$O.{kernels}.>"],
  kasmina: ["$KV.{kasminaState}.>"],
  tamiyo: [],
  tolaria: [],
};

/** Every actor publishes requests' replies and JetStream traffic (API calls, acks) besides its own subjects. */
const ACTOR_INFRA_PUBLISH = ["_INBOX.>", "$JS.API.>", "$JS.ACK.>"];

/**
 * The subjects actor `actor` may publish under namespace `ns`: the registry subjects it owns (see
 * `SubjectSpec.publishers`; a `self` subject only with its own name as the `{actor}` token), the KV
 * and object-store writes it makes, request replies (`_INBOX.>`) and the JetStream API and acks.
 */
export function actorPublishSubjects(ns: string, actor: StackActor): string[] {
  const own: string[] = [];
  for (const key of Object.keys(subjects) as SubjectKey[]) {
    const publishers: readonly string[] = subjects[key].publishers;
    if (publishers.includes("self")) own.push(selfFilter(ns, key, actor));
    if (publishers.includes(actor)) own.push(subjectFilter(ns, key));
  }
  const stores = storeWriters[actor].map((s) =>
    s.replace(/\{(\w+)\}/, (_, key: string) => storeName(ns, key as Parameters<typeof storeName>[1])),
  );
  return [...own, ...stores, ...ACTOR_INFRA_PUBLISH];
}

function selfFilter(ns: string, key: SubjectKey, actor: string): string {
  return subjectFilter(ns, key, { actor } as never);
}

/**
 * What `user` may do under namespace `ns`. An actor publishes only {@link actorPublishSubjects}, minus
 * the stream administration it does not do, and subscribes to the namespace's subjects, its inboxes
 * and JetStream advisories; the operator may do anything.
 */
export function userPermissions(ns: string, user: StackUser): UserPermissions {
  checkToken("namespace", ns);
  if (user === OPERATOR_USER) return { publish: [">"], publishDeny: [], subscribe: [">"] };
  return {
    publish: actorPublishSubjects(ns, user),
    publishDeny: streamAdminDenied(user),
    subscribe: [`${ns}.>`, "_INBOX.>", "$JS.EVENT.ADVISORY.>"],
  };
}

/** The environment variable holding `user`'s password for the server and for the client: `ESPER_NATS_PASS_<USER>`. */
export function passwordVariable(user: StackUser): string {
  return `ESPER_NATS_PASS_${user.toUpperCase()}`;
}

const quote = (s: string): string => JSON.stringify(s);

/**
 * The `authorization` block of a nats-server configuration for a stack on namespace `ns`: one user per
 * actor (named after it) and the operator, each with {@link userPermissions}. Passwords are not in the
 * text: each is the environment reference `$ESPER_NATS_PASS_<USER>`, resolved by nats-server at start
 * (a missing variable stops the server with an error naming it). Anonymous clients are refused.
 */
export function authorizationConfig(ns: string): string {
  const users = STACK_USERS.map((user) => {
    const p = userPermissions(ns, user);
    return [
      `    {`,
      `      user: ${quote(user)}`,
      `      password: $${passwordVariable(user)}`,
      `      permissions: {`,
      `        publish: { allow: [${p.publish.map(quote).join(", ")}]${p.publishDeny.length > 0 ? `, deny: [${p.publishDeny.map(quote).join(", ")}]` : ""} }`,
      `        subscribe: { allow: [${p.subscribe.map(quote).join(", ")}] }`,
      `      }`,
      `    }`,
    ].join("\n");
  });
  return `authorization {\n  users: [\n${users.join("\n")}\n  ]\n}\n`;
}

/**
 * A fresh random password for every user of a stack (`esper up` makes them per start): `p` and 32
 * base64url characters. nats-server parses an environment variable's value as a configuration token,
 * so a value starting with a digit or `-` can read as a number and stop the server (about 1 in 60
 * bare base64url values did); the leading letter keeps it a string.
 */
export function randomStackPasswords(): Record<StackUser, string> {
  return Object.fromEntries(
    STACK_USERS.map((u) => [u, `p${randomBytes(24).toString("base64url")}`]),
  ) as Record<StackUser, string>;
}

/** The environment a nats-server started with {@link authorizationConfig} needs: `ESPER_NATS_PASS_<USER>` for each user. */
export function passwordEnvironment(passwords: Readonly<Record<StackUser, string>>): Record<string, string> {
  return Object.fromEntries(STACK_USERS.map((u) => [passwordVariable(u), passwords[u]]));
}
