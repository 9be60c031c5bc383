import type { StoredMsg } from "@nats-io/jetstream";
import type { Msg, Subscription } from "@nats-io/transport-node";
import type { BusConnection } from "../connection.ts";
import type { ConsumerRef } from "./consume.ts";
import { jetStreamManagerOf } from "./context.ts";
import { publishDeadLetter } from "./dead-letter.ts";
import { type ConsumerDeclaration, type ConsumerName, consumers, streamName } from "./declarations.ts";

/**
 * Subject prefix of the advisory nats-server publishes (core NATS, JSON) when a message of a consumer
 * reaches max deliver without an ack: `<prefix>.<stream>.<consumer>` with `stream`, `consumer`,
 * `stream_seq` and `deliveries`. nats-server 2.9 publishes it lazily, when the consumer is next pulled
 * after the last delivery's ack wait ran out.
 */
export const MAX_DELIVERIES_ADVISORY_PREFIX = "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES";

/** The advisory subject for consumer `consumer` of NATS stream `stream`. */
export function maxDeliveriesSubject(stream: string, consumer: string): string {
  return `${MAX_DELIVERIES_ADVISORY_PREFIX}.${stream}.${consumer}`;
}

/** The fields of a max-deliveries advisory the sweeper uses. */
interface MaxDeliveriesAdvisory {
  readonly stream: string;
  readonly consumer: string;
  readonly streamSeq: number;
  readonly deliveries: number;
}

/** A running max-deliveries sweeper. */
export interface MaxDeliveriesWatch {
  /** Unsubscribes and waits for the dead letters already under way. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Dead-letters the messages the server gives up on without any ack (the consuming process died or
 * hung through the last delivery's ack wait): subscribes to the max-deliveries advisory of each consumer
 * in `refs` (default: every declared consumer), reads the message by stream sequence and publishes the
 * same DeadLetter as `consume()` under the same message id, so a message dead-lettered by both paths is
 * stored once. A message no longer in the stream is dead-lettered with an empty payload and a reason
 * saying so. Resolves once the subscriptions are registered on the server; stops when the bus closes.
 */
export async function watchMaxDeliveries(
  bus: BusConnection,
  refs: readonly ConsumerRef[] = Object.keys(consumers) as ConsumerName[],
): Promise<MaxDeliveriesWatch> {
  const running = new Set<Promise<void>>();
  const subs: Subscription[] = refs.map((ref) => {
    const name = typeof ref === "string" ? ref : ref.name;
    const decl: ConsumerDeclaration = typeof ref === "string" ? consumers[ref] : ref.declaration;
    const stream = streamName(bus.namespace, decl.stream);
    return bus.nc.subscribe(maxDeliveriesSubject(stream, name), {
      callback: (err, msg) => {
        if (err !== null) {
          bus.emit("bus.advisory_subscription_failed", "error", {
            consumer: `${stream}/${name}`,
            error: String(err),
          });
          return;
        }
        const job = sweep(bus, name, decl, msg).catch((e: unknown) => {
          bus.emit("bus.dead_letter_failed", "error", {
            consumer: `${stream}/${name}`,
            subject: msg.subject,
            error: String(e),
          });
        });
        running.add(job);
        void job.finally(() => running.delete(job));
      },
    });
  });
  await bus.nc.flush();
  let stopping: Promise<void> | undefined;
  let unregister = (): void => {};
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      unregister();
      for (const s of subs) s.unsubscribe();
      await Promise.allSettled([...running]);
    })();
    return stopping;
  };
  unregister = bus.onClose(stop);
  return { stop };
}

/** Reads the advisory's message from the stream and dead-letters it; every failure is reported. */
async function sweep(bus: BusConnection, name: string, decl: ConsumerDeclaration, msg: Msg): Promise<void> {
  const stream = streamName(bus.namespace, decl.stream);
  const label = `${stream}/${name}`;
  const advisory = parseAdvisory(msg.data);
  if (typeof advisory === "string" || advisory.stream !== stream || advisory.consumer !== name) {
    bus.emit("bus.advisory_rejected", "error", {
      consumer: label,
      subject: msg.subject,
      reason:
        typeof advisory === "string"
          ? advisory
          : `advisory names ${advisory.stream}/${advisory.consumer}, not ${label}`,
    });
    return;
  }
  const seq = advisory.streamSeq;
  const unacked = `not acknowledged after ${advisory.deliveries} deliveries (max ${decl.maxDeliver}): the last delivery's ack wait (${decl.ackWaitMs} ms) ran out (consumer died, hung or gave up without settling it)`;
  const given = {
    streamKey: decl.stream,
    consumer: name,
    streamSequence: seq,
    deliveries: advisory.deliveries,
  };
  let stored: StoredMsg | null;
  try {
    stored = await (await jetStreamManagerOf(bus)).streams.getMessage(stream, { seq });
  } catch (err) {
    await publishDeadLetter(bus, {
      ...given,
      subject: msg.subject,
      headers: undefined,
      payload: new Uint8Array(),
      reason: `${unacked}; reading message ${seq} of stream ${stream} failed (${String(err)}), so the payload is not included: it may still be in the stream`,
    });
    return;
  }
  if (stored === null) {
    await publishDeadLetter(bus, {
      ...given,
      subject: msg.subject,
      headers: undefined,
      payload: new Uint8Array(),
      reason: `${unacked}; message ${seq} is no longer in stream ${stream} (removed by limits or deleted), so its payload and subject are lost`,
    });
    return;
  }
  await publishDeadLetter(bus, {
    ...given,
    subject: stored.subject,
    headers: stored.header,
    payload: stored.data,
    reason: unacked,
  });
}

/** The advisory's fields, or why they are unusable. */
function parseAdvisory(data: Uint8Array): MaxDeliveriesAdvisory | string {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder().decode(data));
  } catch (err) {
    return `advisory is not JSON: ${String(err)}`;
  }
  if (typeof v !== "object" || v === null) return "advisory is not a JSON object";
  const o = v as Record<string, unknown>;
  const { stream, consumer, stream_seq: streamSeq, deliveries } = o;
  if (typeof stream !== "string" || stream === "") return "advisory field stream: must be a non-empty string";
  if (typeof consumer !== "string" || consumer === "")
    return "advisory field consumer: must be a non-empty string";
  if (typeof streamSeq !== "number" || !Number.isSafeInteger(streamSeq) || streamSeq < 1)
    return "advisory field stream_seq: must be a positive integer";
  if (typeof deliveries !== "number" || !Number.isSafeInteger(deliveries) || deliveries < 1)
    return "advisory field deliveries: must be a positive integer";
  return { stream, consumer, streamSeq, deliveries };
}
