import type { ConsumerMessages, JsMsg } from "@nats-io/jetstream";
import { SystemLimits } from "../../contracts/budgets.ts";
import type { MessageOf } from "../../contracts/registry.ts";
import { type SubjectKey, type SubjectMessage, subjects } from "../../contracts/subjects.ts";
import type { BusConnection } from "../connection.ts";
import { type BusHeaders, readHeaders } from "../headers.ts";
import { checkInbound } from "../inbound.ts";
import { settlesWithin } from "../settles-within.ts";
import { jetStreamOf } from "./context.ts";
import { publishDeadLetter } from "./dead-letter.ts";
import {
  type DeclaredConsumer,
  type RunConsumerName,
  type runConsumers,
  type StackConsumerName,
  stackConsumers,
  streamName,
} from "./declarations.ts";
import { watchMaxDeliveries } from "./max-deliveries.ts";
import { ensureRunConsumer, type RunConsumerRef } from "./run-consumers.ts";

/** How long an ack waits for the server's confirmation (milliseconds); it is normally sub-millisecond. */
const ACK_CONFIRM_TIMEOUT_MS = 2_000;
/** Thrown by a handler to ask for redelivery after `delayMs` (default: the consumer's retry delay). */
export class RetryableError extends Error {
  override readonly name = "RetryableError";
  constructor(
    message: string,
    readonly delayMs?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Where a JetStream message came from and how often it was delivered. */
export interface StreamMessageContext {
  readonly subject: string;
  readonly headers: BusHeaders;
  /** 1 on first delivery. */
  readonly deliveryCount: number;
  readonly streamSequence: number;
  /** Messages left in the consumer after this one. */
  readonly pending: number;
  /** Aborted when the handler's deadline passes: the message is then dead-lettered and the handler abandoned. */
  readonly signal: AbortSignal;
  /**
   * Tells the server the message is still being worked on (an in-progress ack) and moves the handler's
   * deadline to `handlerDeadlineMs` from now. Does nothing once the deadline has passed.
   */
  working(): void;
}

/** The reason a handler's AbortSignal carries when its deadline passed. */
export class HandlerDeadlineError extends Error {
  override readonly name = "HandlerDeadlineError";
}

/**
 * Handles one decoded, valid stream message. Returning acks it (confirmed by the server); throwing
 * {@link RetryableError} naks it with a delay (dead-lettered once max deliver is reached); any other
 * error, or running past the handler deadline without `ctx.working()`, dead-letters it now.
 */
export type StreamHandler<M> = (msg: M, ctx: StreamMessageContext) => void | Promise<void>;

/**
 * A consumer to read: a stack-level one by durable name, a per-run one by template name and run (its
 * durable is created on use), or an explicit durable and declaration (tools and tests; created beforehand).
 */
export type ConsumerRef = StackConsumerName | RunConsumerRef | DeclaredConsumer;

/** Options of {@link consume}. */
export interface ConsumeOptions {
  /** Messages handled at once (different subjects run in parallel; one subject runs in order); default min(maxAckPending, 64). */
  readonly maxInFlight?: number;
  /** Consumer pending count above which a `bus.consumer_behind` event is raised; default SystemLimits.maxQueueDepth. */
  readonly behindThreshold?: number;
  /**
   * How long a handler may run without calling `ctx.working()`; past it the handler is abandoned (its
   * AbortSignal fires) and the message dead-lettered. Default: the consumer's ack wait.
   */
  readonly handlerDeadlineMs?: number;
}

/** A running JetStream consumer. */
export interface StreamConsumer {
  readonly name: string;
  readonly stream: string;
  /** Stops pulling, lets running handlers finish for up to `graceMs` (default 5000), then resolves. */
  stop(graceMs?: number): Promise<void>;
}

type StackMessage<N extends StackConsumerName> = MessageOf<
  SubjectMessage<(typeof stackConsumers)[N]["subject"]>
>;
type RunMessage<N extends RunConsumerName> = MessageOf<SubjectMessage<(typeof runConsumers)[N]["subject"]>>;

/** The message type a consumer reads: from its declaration's subject. */
export type MessageFor<R extends ConsumerRef> = R extends StackConsumerName
  ? StackMessage<R>
  : R extends { readonly name: infer N extends RunConsumerName; readonly run: string }
    ? RunMessage<N>
    : R extends { readonly declaration: { readonly subject: infer S extends SubjectKey } }
      ? MessageOf<SubjectMessage<S>>
      : never;

/**
 * The durable name and declaration of `ref`; a per-run consumer is created (or brought to its
 * template) first, so a run's consumer exists from its first use.
 */
export async function resolveConsumer(bus: BusConnection, ref: ConsumerRef): Promise<DeclaredConsumer> {
  if (typeof ref === "string") return { name: ref, declaration: stackConsumers[ref] };
  if ("run" in ref) return ensureRunConsumer(bus, ref);
  return ref;
}

/**
 * Consumes durable consumer `ref`: a stack-level one (which `ensureResources` created), a per-run one
 * (`{name, run}`: the durable `<name>-<run>` reading only run `run`, created here on first use) or an
 * explicit one (which `ensureConsumer` created). Messages of one
 * subject are handled in order; at most `maxInFlight` run at once and at most that many are buffered.
 * An invalid payload or a non-retryable handler error dead-letters the message (a DeadLetter on
 * `<ns>.deadletter.<stream>`) and terminates it; a retryable error naks it with a delay until max deliver.
 * A handler past its deadline (`handlerDeadlineMs`, pushed out by `ctx.working()`) is aborted through
 * `ctx.signal` and abandoned, its message dead-lettered and `bus.handler_deadline` reported, and the
 * consumer goes on: a hung handler never wedges it. A successful ack waits for the server's confirmation.
 * A {@link watchMaxDeliveries} sweeper for this consumer runs from before the first pull until `stop()`,
 * so a message whose last delivery is never settled (a previous process died or hung) is dead-lettered too.
 */
export async function consume<R extends ConsumerRef>(
  bus: BusConnection,
  ref: R,
  handler: StreamHandler<MessageFor<R>>,
  opts: ConsumeOptions = {},
): Promise<StreamConsumer> {
  const { name, declaration: decl } = await resolveConsumer(bus, ref);
  const stream = streamName(bus.namespace, decl.stream);
  const type = subjects[decl.subject].message;
  const label = `${stream}/${name}`;
  const maxInFlight = opts.maxInFlight ?? Math.min(decl.maxAckPending, 64);
  const behindThreshold = opts.behindThreshold ?? SystemLimits.maxQueueDepth;
  const deadlineMs = opts.handlerDeadlineMs ?? decl.ackWaitMs;
  if (!Number.isSafeInteger(deadlineMs) || deadlineMs < 1) {
    throw new RangeError(`consume(${name}): handlerDeadlineMs must be a positive integer, got ${deadlineMs}`);
  }
  const heartbeatMs = Math.max(1, Math.floor(decl.ackWaitMs / 2));
  let abandoned = 0;
  const consumer = await jetStreamOf(bus).consumers.get(stream, name);
  const sweeper = await watchMaxDeliveries(bus, [{ name, declaration: decl }]);
  let messages: ConsumerMessages;
  try {
    messages = await consumer.consume({ max_messages: maxInFlight });
  } catch (err) {
    await sweeper.stop();
    throw err;
  }
  void watchNotifications(bus, label, messages);

  let behind = false;
  const deadLetter = async (m: JsMsg, reason: string): Promise<void> => {
    const stored = await publishDeadLetter(bus, {
      streamKey: decl.stream,
      consumer: name,
      subject: m.subject,
      streamSequence: m.seq,
      deliveries: m.info.deliveryCount,
      headers: m.headers,
      payload: m.data,
      reason,
    });
    if (stored) m.term();
    else m.nak(decl.retryDelayMs);
  };

  const process = async (m: JsMsg): Promise<void> => {
    const pending = m.info.pending;
    bus.metrics.consumerPending(label, pending);
    if (!behind && pending > behindThreshold) {
      behind = true;
      bus.metrics.consumerBehind(label);
      bus.emit("bus.consumer_behind", "warn", { consumer: label, pending, threshold: behindThreshold });
    } else if (behind && pending === 0) {
      behind = false;
      bus.emit("bus.consumer_caught_up", "info", { consumer: label });
    }
    const inbound = checkInbound(bus, type, m.subject, m.data, m.headers);
    if (!inbound.ok) {
      await deadLetter(m, `invalid payload: ${inbound.error.message}`);
      return;
    }
    bus.metrics.received(m.subject);
    const outcome = await runWithDeadline(m, inbound.msg, pending);
    if (outcome === "deadline") {
      bus.metrics.handlerError(m.subject);
      bus.emit("bus.handler_deadline", "error", {
        consumer: label,
        subject: m.subject,
        seq: m.seq,
        deliveries: m.info.deliveryCount,
        deadlineMs,
      });
      await deadLetter(
        m,
        `handler passed its deadline of ${deadlineMs} ms without finishing or calling ctx.working() (delivery ${m.info.deliveryCount}); it was aborted and abandoned`,
      );
      return;
    }
    if (outcome !== "done") {
      const err = outcome.error;
      bus.metrics.handlerError(m.subject);
      const text = err instanceof Error ? err.message : String(err);
      if (err instanceof RetryableError && m.info.deliveryCount < decl.maxDeliver) {
        bus.emit("bus.redelivery_requested", "warn", {
          consumer: label,
          subject: m.subject,
          seq: m.seq,
          deliveries: m.info.deliveryCount,
          error: text,
        });
        m.nak(err.delayMs ?? decl.retryDelayMs);
        return;
      }
      const why =
        err instanceof RetryableError
          ? `gave up after ${m.info.deliveryCount} deliveries (max ${decl.maxDeliver}): ${text}`
          : `handler failed: ${text}`;
      await deadLetter(m, why);
      return;
    }
    await confirmAck(m);
  };

  /**
   * Runs the handler under its deadline. While it runs, in-progress acks keep the server from
   * redelivering (every half ack wait); past the deadline its signal is aborted and it is abandoned
   * (reported again if it settles later), so a hung handler never holds the consumer.
   */
  const runWithDeadline = async (
    m: JsMsg,
    msg: unknown,
    pending: number,
  ): Promise<"done" | "deadline" | { readonly error: unknown }> => {
    const abort = new AbortController();
    let expire: (v: "deadline") => void = () => {};
    const expired = new Promise<"deadline">((r) => (expire = r));
    let timer = setTimeout(() => expire("deadline"), deadlineMs);
    const beat = setInterval(() => m.working(), heartbeatMs);
    const ctx: StreamMessageContext = {
      subject: m.subject,
      headers: readHeaders(m.headers),
      deliveryCount: m.info.deliveryCount,
      streamSequence: m.seq,
      pending,
      signal: abort.signal,
      working: () => {
        if (abort.signal.aborted) return;
        m.working();
        clearTimeout(timer);
        timer = setTimeout(() => expire("deadline"), deadlineMs);
      },
    };
    let run: Promise<void>;
    try {
      run = Promise.resolve((handler as StreamHandler<unknown>)(msg, ctx));
    } catch (err) {
      run = Promise.reject(err);
    }
    const settled = run.then(
      () => "done" as const,
      (error: unknown) => ({ error }),
    );
    const outcome = await Promise.race([settled, expired]);
    clearTimeout(timer);
    clearInterval(beat);
    if (outcome === "deadline") {
      abort.abort(new HandlerDeadlineError(`handler deadline of ${deadlineMs} ms passed`));
      abandoned++;
      void settled.then((late) => {
        abandoned--;
        bus.emit("bus.handler_settled_after_deadline", "warn", {
          consumer: label,
          subject: m.subject,
          seq: m.seq,
          outcome: late === "done" ? "returned" : `threw: ${String(late.error)}`,
        });
      });
    }
    return outcome;
  };

  /**
   * Acks and waits for the server's confirmation, so a lost ack is reported instead of silently
   * redelivered. The wait is at most ACK_CONFIRM_TIMEOUT_MS: a confirmation lost in a reconnect never
   * arrives, and waiting the whole ack wait would hold the subject's next messages that long.
   */
  const confirmAck = async (m: JsMsg): Promise<void> => {
    try {
      await m.ackAck({ timeout: Math.min(decl.ackWaitMs, ACK_CONFIRM_TIMEOUT_MS) });
    } catch (err) {
      bus.emit("bus.ack_unconfirmed", "warn", {
        consumer: label,
        subject: m.subject,
        seq: m.seq,
        error: String(err),
      });
    }
  };

  const chains = new Map<string, Promise<void>>();
  let inFlight = 0;
  let slotFree: (() => void) | undefined;
  const loop = (async () => {
    for await (const m of messages) {
      while (inFlight >= maxInFlight) await new Promise<void>((r) => (slotFree = r));
      inFlight++;
      const previous = chains.get(m.subject);
      const run = (previous ?? Promise.resolve()).then(() => process(m));
      const tail: Promise<void> = run.then(
        () => release(m.subject, tail),
        (err: unknown) => {
          bus.emit("bus.handler_failed", "error", {
            consumer: label,
            subject: m.subject,
            error: String(err),
          });
          release(m.subject, tail);
        },
      );
      chains.set(m.subject, tail);
    }
  })();
  // A consume loop that dies (e.g. its consumer was deleted) must not leave a silently dead consumer:
  // it is reported, then rethrown so the process fails loudly and its supervisor restarts it.
  void loop.catch((err: unknown) => {
    bus.emit("bus.consumer_failed", "error", { consumer: label, error: String(err) });
    throw err;
  });
  const release = (subject: string, tail: Promise<void>): void => {
    inFlight--;
    if (chains.get(subject) === tail) chains.delete(subject);
    const wake = slotFree;
    slotFree = undefined;
    wake?.();
  };

  let stopping: Promise<void> | undefined;
  let unregister = (): void => {};
  const stop = (graceMs = 5000): Promise<void> => {
    stopping ??= (async () => {
      unregister();
      await messages.close();
      const all = Promise.all([loop, ...chains.values()]);
      if (!(await settlesWithin(all, graceMs))) {
        bus.emit("bus.handlers_abandoned", "warn", { consumer: label, graceMs, inFlight });
      }
      if (abandoned > 0) {
        bus.emit("bus.handlers_still_hung", "warn", { consumer: label, count: abandoned });
      }
      await sweeper.stop();
    })();
    return stopping;
  };
  unregister = bus.onClose(() => stop());
  return { name, stream, stop };
}

async function watchNotifications(
  bus: BusConnection,
  label: string,
  messages: ConsumerMessages,
): Promise<void> {
  for await (const s of messages.status()) {
    switch (s.type) {
      case "heartbeats_missed":
        bus.emit("bus.consumer_heartbeats_missed", "warn", { consumer: label, count: s.count });
        break;
      case "consumer_not_found":
      case "stream_not_found":
      case "consumer_deleted":
        bus.emit(`bus.${s.type}`, "error", { consumer: label });
        break;
      default:
        break;
    }
  }
}
