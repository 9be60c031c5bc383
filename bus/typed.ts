import { type Msg, headers as natsHeaders, RequestError, TimeoutError } from "@nats-io/transport-node";
import { SystemLimits } from "../contracts/budgets.ts";
import { encode } from "../contracts/codec.ts";
import { ContractError } from "../contracts/errors.ts";
import { HeaderNames } from "../contracts/headers.ts";
import type { MessageInput, MessageOf, MessageType } from "../contracts/registry.ts";
import {
  checkRunToken,
  type ParamArgs,
  type RequestSubjectKey,
  type SubjectKey,
  type SubjectMessage,
  type SubjectParams,
  type SubjectReply,
  subjectFilter,
  subjectFor,
  subjects,
} from "../contracts/subjects.ts";
import { BoundedRunner } from "./bounded-runner.ts";
import type { BusConnection } from "./connection.ts";
import { type BusHeaders, outgoingHeaders, readHeaders, type SendOptions } from "./headers.ts";
import { checkMessage } from "./inbound.ts";
import { messageHeader } from "./raw-headers.ts";
import { settlesWithin } from "./settles-within.ts";

/** Keys of subjects carried by plain core publish/subscribe. */
export type CoreSubjectKey = {
  [K in SubjectKey]: (typeof subjects)[K]["transport"] extends "core" ? K : never;
}[SubjectKey];

/** `params` of a subject: required when its pattern has parameters, absent otherwise. */
export type SubjectTarget<K extends SubjectKey> =
  ParamArgs<K> extends [] ? { readonly params?: undefined } : { readonly params: SubjectParams<K> };

/** `params` of a subscription: optional; omitted parameters subscribe to every value (`*`). */
export type SubjectSelection<K extends SubjectKey> =
  ParamArgs<K> extends [] ? { readonly params?: undefined } : { readonly params?: SubjectParams<K> };

/** An options argument that must be given when the subject has parameters. */
export type OptionsArg<K extends SubjectKey, O> = ParamArgs<K> extends [] ? [opts?: O] : [opts: O];

/** Where and how a received message arrived. */
export interface MessageContext {
  /** The concrete subject. */
  readonly subject: string;
  readonly headers: BusHeaders;
}

/** Handles one decoded, valid message. A thrown error is counted and reported; the subscription goes on. */
export type MessageHandler<M> = (msg: M, ctx: MessageContext) => void | Promise<void>;

/** Concurrency and queue bounds of a subscription. */
export interface FlowOptions {
  /** Queue group: each message goes to one member of the group. */
  readonly queue?: string;
  /** Handlers running at once; default 1 (messages handled in arrival order). */
  readonly maxInFlight?: number;
  /** Messages waiting for a handler before new ones are dropped and counted; default SystemLimits.maxQueueDepth. */
  readonly maxPending?: number;
}

/** A live subscription. */
export interface BusSubscription {
  /** The subject or filter subscribed to. */
  readonly subject: string;
  /** Messages received but not yet handed to a handler. */
  pending(): number;
  /**
   * Stops receiving and lets running and queued handlers finish for up to `graceMs` (default 5000).
   * Then messages still queued are discarded, counted as dropped and reported with their count
   * (`bus.subscription_discarded`), and handlers still running are reported (`bus.handlers_abandoned`)
   * and left behind.
   */
  stop(graceMs?: number): Promise<void>;
}

/** Why a request failed. */
export type RequestFailure = "timeout" | "no_responders" | "aborted" | "remote_error" | "invalid_reply";

/** A request got no valid reply: timeout, no responders, aborted, an error answered by the responder, or a bad reply. */
export class BusRequestError extends Error {
  override readonly name = "BusRequestError";
  constructor(
    readonly kind: RequestFailure,
    readonly subject: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(`request on ${subject}: ${message}`, options);
  }
}

/** Header names of an error answered by a responder (the NATS service-API convention). */
export const ServiceErrorHeaders = { error: "Nats-Service-Error", code: "Nats-Service-Error-Code" } as const;

/** One level of the subject cache: the subject when every parameter is bound, else the next parameter's values. */
interface SubjectNode {
  subject: string | undefined;
  readonly next: Map<unknown, SubjectNode>;
}

const SUBJECT_CACHE_LIMIT = 10_000;
const subjectCache = new Map<string, Map<SubjectKey, SubjectNode>>();
const paramNamesOf = new Map<SubjectKey, readonly string[]>();
let cachedSubjects = 0;
const NO_PARAMS: Readonly<Record<string, unknown>> = Object.freeze({});

function paramNames(key: SubjectKey): readonly string[] {
  let names = paramNamesOf.get(key);
  if (names === undefined) {
    names = subjects[key].pattern
      .split(".")
      .filter((t) => t.startsWith("{"))
      .map((t) => t.slice(1, -1));
    paramNamesOf.set(key, names);
  }
  return names;
}

/**
 * The concrete subject of `key` with optional `params` under namespace `ns` (memoised `subjectFor`).
 * The cache is a tree keyed by namespace, subject key, then each parameter value in pattern order,
 * so a hit allocates nothing; it is cleared when it holds 10 000 subjects.
 */
export function concreteSubject(ns: string, key: SubjectKey, params: object | undefined): string {
  const values = (params ?? NO_PARAMS) as Record<string, unknown>;
  const names = paramNames(key);
  let node = subjectCache.get(ns)?.get(key);
  for (let i = 0; i < names.length && node !== undefined; i++)
    node = node.next.get(values[names[i] as string]);
  if (node?.subject !== undefined) return node.subject;
  const subject = (subjectFor as (ns: string, key: SubjectKey, ...p: unknown[]) => string)(
    ns,
    key,
    ...(params === undefined ? [] : [params]),
  );
  if (cachedSubjects >= SUBJECT_CACHE_LIMIT) {
    subjectCache.clear();
    cachedSubjects = 0;
  }
  let byKey = subjectCache.get(ns);
  if (byKey === undefined) {
    byKey = new Map();
    subjectCache.set(ns, byKey);
  }
  let at: SubjectNode | undefined = byKey.get(key);
  if (at === undefined) {
    at = newNode();
    byKey.set(key, at);
  }
  for (const name of names) {
    const value = values[name];
    let child: SubjectNode | undefined = at.next.get(value);
    if (child === undefined) {
      child = newNode();
      at.next.set(value, child);
    }
    at = child;
  }
  at.subject = subject;
  cachedSubjects++;
  return subject;
}

function newNode(): SubjectNode {
  return { subject: undefined, next: new Map() };
}

function selectionSubject(ns: string, key: SubjectKey, params: object | undefined): string {
  return params === undefined ? subjectFilter(ns, key) : concreteSubject(ns, key, params);
}

/** Publish options of a core subject: headers plus `params` when the subject has parameters. */
export type PublishOptions<K extends SubjectKey> = SubjectTarget<K> & SendOptions;

/**
 * Validates, encodes and publishes `msg` on core subject `key` with the Esper headers. Throws
 * ContractError, or RunMismatchError when a run-level message names another run than the subject.
 */
export function publish<K extends CoreSubjectKey>(
  bus: BusConnection,
  key: K,
  msg: MessageInput<SubjectMessage<K>>,
  ...[opts]: OptionsArg<K, PublishOptions<K>>
): void {
  const o = opts as PublishOptions<K> | undefined;
  checkRunToken(key, o?.params, msg);
  sendTyped(bus, concreteSubject(bus.namespace, key, o?.params), subjects[key].message, msg, o);
}

/**
 * The publish path behind {@link publish}, for a subject already resolved: validates, encodes and
 * publishes `msg` as `type` with the Esper headers. For bus tools (replay, benchmarks); actors use `publish`.
 */
export function sendTyped<T extends MessageType>(
  bus: BusConnection,
  subject: string,
  type: T,
  msg: MessageInput<T>,
  opts: SendOptions | undefined,
): void {
  const data = encode(type, msg);
  bus.nc.publish(subject, data, { headers: outgoingHeaders(type, msg, opts) });
  bus.metrics.published(subject);
}

/** Subscribe options: flow bounds plus `params` (omitted parameters match every value). */
export type SubscribeOptions<K extends SubjectKey> = SubjectSelection<K> & FlowOptions;

/**
 * Subscribes to core subject `key`. Each payload is decoded and validated before `handler` sees it;
 * a refused message is counted with its subject and field path and never reaches the handler.
 */
export function subscribe<K extends CoreSubjectKey>(
  bus: BusConnection,
  key: K,
  handler: MessageHandler<MessageOf<SubjectMessage<K>>>,
  opts?: SubscribeOptions<K>,
): BusSubscription {
  const subject = selectionSubject(bus.namespace, key, opts?.params);
  return listenTyped(bus, subject, subjects[key].message as SubjectMessage<K>, handler, opts ?? {});
}

/** Options of {@link listenTyped}: flow bounds, and an optional callback for refused messages. */
export interface ListenOptions extends FlowOptions {
  /** Called with each refused message's subject and error, after the bus has counted and reported it. */
  readonly onRefused?: (subject: string, error: ContractError) => void;
}

/**
 * The subscribe path behind {@link subscribe}, for a subject (or filter) already resolved: each payload
 * is checked as `type` before `handler` sees it. For bus tools (replay, benchmarks, the run follower);
 * actors use `subscribe`.
 */
export function listenTyped<T extends MessageType>(
  bus: BusConnection,
  subject: string,
  type: T,
  handler: MessageHandler<MessageOf<T>>,
  flow: ListenOptions,
): BusSubscription {
  const wildcard = subject.split(".").some((t) => t === "*" || t === ">");
  return listen(bus, subject, flow, (m) => {
    const concrete = wildcard ? m.subject : subject;
    const inbound = checkMessage(bus, type, concrete, m);
    if (!inbound.ok) {
      flow.onRefused?.(concrete, inbound.error);
      return;
    }
    bus.metrics.received(concrete);
    let result: void | Promise<void>;
    try {
      result = handler(inbound.msg, new LazyContext(m));
    } catch (err) {
      handlerFailed(bus, concrete, err);
      return;
    }
    if (result instanceof Promise) return result.catch((err: unknown) => handlerFailed(bus, concrete, err));
    return;
  });
}

/** A context whose headers are read only when the handler asks for them. */
class LazyContext implements MessageContext {
  private read: BusHeaders | undefined;
  constructor(private readonly m: Msg) {}
  get subject(): string {
    return this.m.subject;
  }
  get headers(): BusHeaders {
    this.read ??= readHeaders(this.m.headers);
    return this.read;
  }
}

/** Answers a request: returns the reply message (validated and encoded by the bus). A throw answers an error. */
export type RequestHandler<Req, Rep> = (req: Req, ctx: MessageContext) => Rep | Promise<Rep>;

/** Serve options of a request subject: `params` when it has parameters, and flow bounds. */
export type ServeOptions<K extends SubjectKey> = SubjectTarget<K> & FlowOptions;

/**
 * Serves request subject `key`. Requests that fail to decode or validate are counted and answered
 * with a service error naming the field (the handler never sees them); a handler error is answered
 * as a service error too, so the requester fails fast instead of timing out.
 */
export function serve<K extends RequestSubjectKey>(
  bus: BusConnection,
  key: K,
  handler: RequestHandler<MessageOf<SubjectMessage<K>>, MessageInput<SubjectReply<K>>>,
  ...[opts]: OptionsArg<K, ServeOptions<K>>
): BusSubscription {
  const o = (opts ?? {}) as ServeOptions<K>;
  const spec = subjects[key];
  const type = spec.message as SubjectMessage<K>;
  const replyType = spec.reply as SubjectReply<K>;
  return listen(bus, concreteSubject(bus.namespace, key, o.params), o, (m) => {
    const inbound = checkMessage(bus, type, m.subject, m);
    if (!inbound.ok) {
      respondError(m, 400, inbound.error.message);
      return;
    }
    bus.metrics.received(m.subject);
    const ctx = new LazyContext(m);
    const answer = (reply: MessageInput<SubjectReply<K>>): void => {
      let data: Uint8Array;
      try {
        data = encode(replyType, reply);
      } catch (err) {
        bus.metrics.handlerError(m.subject);
        bus.emit("bus.invalid_reply", "error", { subject: m.subject, error: String(err) });
        respondError(m, 500, `invalid reply: ${(err as Error).message}`);
        return;
      }
      const asked = messageHeader(m, HeaderNames.correlationId) || messageHeader(m, HeaderNames.messageId);
      const correlationId = asked === "" ? undefined : asked;
      m.respond(data, {
        headers: outgoingHeaders(
          replyType,
          reply,
          correlationId === undefined ? undefined : { correlationId },
        ),
      });
    };
    const fail = (err: unknown): void => {
      handlerFailed(bus, m.subject, err);
      respondError(m, 500, err instanceof Error ? err.message : String(err));
    };
    let result: MessageInput<SubjectReply<K>> | Promise<MessageInput<SubjectReply<K>>>;
    try {
      result = handler(inbound.msg, ctx);
    } catch (err) {
      fail(err);
      return;
    }
    if (result instanceof Promise) return result.then(answer, fail);
    answer(result);
    return;
  });
}

function respondError(m: Msg, code: number, text: string): void {
  if (!m.reply) return;
  const h = natsHeaders();
  h.set(ServiceErrorHeaders.error, text.slice(0, SystemLimits.maxTextLength));
  h.set(ServiceErrorHeaders.code, String(code));
  m.respond(new Uint8Array(0), { headers: h });
}

/** Request options: the deadline, an optional AbortSignal, headers and `params` when the subject has parameters. */
export type RequestOptions<K extends SubjectKey> = SubjectTarget<K> &
  SendOptions & {
    /** Deadline for the reply, in milliseconds. */
    readonly timeoutMs: number;
    /** Aborts the wait for the reply. */
    readonly signal?: AbortSignal;
  };

/**
 * Sends a request on `key` and returns the decoded, validated reply. Throws ContractError when `msg`
 * is invalid and {@link BusRequestError} on timeout, no responders, abort, a responder error or an
 * invalid reply.
 */
export async function request<K extends RequestSubjectKey>(
  bus: BusConnection,
  key: K,
  msg: MessageInput<SubjectMessage<K>>,
  opts: RequestOptions<K>,
): Promise<MessageOf<SubjectReply<K>>> {
  const spec = subjects[key];
  const subject = concreteSubject(bus.namespace, key, opts.params);
  const type = spec.message;
  const replyType = spec.reply as SubjectReply<K>;
  const signal = opts.signal;
  if (signal?.aborted)
    throw new BusRequestError("aborted", subject, "aborted before sending", { cause: signal.reason });
  const data = encode(type, msg);
  const sent = bus.nc.request(subject, data, {
    timeout: opts.timeoutMs,
    headers: outgoingHeaders(type, msg, opts),
  });
  bus.metrics.published(subject);
  let reply: Msg;
  try {
    reply = signal === undefined ? await sent : await abortable(sent, signal, subject);
  } catch (err) {
    throw requestFailure(err, subject, opts.timeoutMs);
  }
  const remote = messageHeader(reply, ServiceErrorHeaders.error);
  if (remote !== "") {
    const code = messageHeader(reply, ServiceErrorHeaders.code);
    throw new BusRequestError("remote_error", subject, `responder answered ${code}: ${remote}`);
  }
  const inbound = checkMessage(bus, replyType, subject, reply);
  if (!inbound.ok)
    throw new BusRequestError("invalid_reply", subject, inbound.error.message, { cause: inbound.error });
  bus.metrics.received(subject);
  return inbound.msg;
}

function abortable<T>(p: Promise<T>, signal: AbortSignal, subject: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void =>
      reject(
        new BusRequestError("aborted", subject, "aborted while waiting for the reply", {
          cause: signal.reason,
        }),
      );
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}

function requestFailure(err: unknown, subject: string, timeoutMs: number): Error {
  if (err instanceof BusRequestError || err instanceof ContractError) return err;
  if (err instanceof TimeoutError || (err instanceof RequestError && err.cause instanceof TimeoutError)) {
    return new BusRequestError("timeout", subject, `no reply within ${timeoutMs} ms`, { cause: err });
  }
  if (err instanceof RequestError && err.isNoResponders()) {
    return new BusRequestError("no_responders", subject, "no responders", { cause: err });
  }
  return err instanceof Error ? err : new Error(String(err));
}

/** Counts and reports a handler's thrown or rejected error as `bus.handler_failed`. */
function handlerFailed(bus: BusConnection, subject: string, err: unknown): void {
  bus.metrics.handlerError(subject);
  bus.emit("bus.handler_failed", "error", {
    subject,
    error: err instanceof Error ? err.message : String(err),
  });
}

/** A core subscription whose messages go through a {@link BoundedRunner}. */
function listen(
  bus: BusConnection,
  subject: string,
  flow: FlowOptions,
  run: (m: Msg) => void | Promise<void>,
): BusSubscription {
  const maxPending = flow.maxPending ?? SystemLimits.maxQueueDepth;
  let dropped = 0;
  const runner = new BoundedRunner<Msg>(run, flow.maxInFlight ?? 1, maxPending, {
    onBehind(pending) {
      bus.metrics.slowConsumer(subject);
      bus.metrics.pending(subject, pending);
      bus.emit("bus.slow_consumer", "warn", { subject, pending, maxPending });
    },
    onDropped(pending) {
      dropped++;
      bus.metrics.dropped(subject);
      if (dropped === 1 || dropped % 1000 === 0) {
        bus.emit("bus.messages_dropped", "error", { subject, pending, dropped });
      }
    },
    onCaughtUp(pending) {
      bus.metrics.pending(subject, pending);
      bus.emit("bus.consumer_caught_up", "info", { subject, pending });
    },
    onRunError(err) {
      handlerFailed(bus, subject, err);
    },
    onDiscarded(count) {
      for (let i = 0; i < count; i++) bus.metrics.dropped(subject);
      bus.emit("bus.subscription_discarded", "error", { subject, count });
    },
  });
  const sub = bus.nc.subscribe(subject, {
    ...(flow.queue !== undefined ? { queue: flow.queue } : {}),
    callback: (err, m) => {
      if (err) {
        bus.emit("bus.subscription_error", "error", { subject, error: err.message });
        return;
      }
      runner.push(m);
    },
  });
  let stopping: Promise<void> | undefined;
  let unregister = (): void => {};
  const stop = (graceMs = 5000): Promise<void> => {
    stopping ??= (async () => {
      unregister();
      if (!sub.isClosed() && !bus.nc.isClosed()) await sub.drain();
      if (await settlesWithin(runner.idle(), graceMs)) return;
      runner.discard();
      if (runner.running > 0)
        bus.emit("bus.handlers_abandoned", "warn", { subject, graceMs, running: runner.running });
    })();
    return stopping;
  };
  unregister = bus.onClose((graceMs) => stop(graceMs));
  return { subject, pending: () => runner.pending, stop };
}
