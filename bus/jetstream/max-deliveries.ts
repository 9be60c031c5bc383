import {
  AckPolicy,
  type ConsumerConfig,
  type ConsumerMessages,
  DeliverPolicy,
  ReplayPolicy,
  type StoredMsg,
} from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import type { BusConnection } from "../connection.ts";
import { jetStreamManagerOf, jetStreamOf } from "./context.ts";
import { publishDeadLetter } from "./dead-letter.ts";
import {
  advisoryStreamName,
  type ConsumerDeclaration,
  type DeclaredConsumer,
  streamName,
} from "./declarations.ts";

/**
 * Subject prefix of the advisory nats-server publishes (core NATS, JSON) when a message of a consumer
 * reaches max deliver without an ack: `<prefix>.<stream>.<consumer>` with `stream`, `consumer`,
 * `stream_seq` and `deliveries`. nats-server 2.9 publishes it lazily, when the consumer is next pulled
 * after the last delivery's ack wait ran out; the advisory stream stores it.
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
  /** Stops sweeping and waits for the dead letters already under way. Safe to call twice. */
  stop(): Promise<void>;
}

/** The durable name of the sweeper of consumer `consumer` on the advisory stream. */
export function sweeperName(consumer: string): string {
  return `${consumer}-max-deliveries`;
}

/** Delay before an advisory whose DeadLetter could not be stored is swept again. */
const SWEEP_RETRY_MS = 1_000;

/**
 * The sweeper's durable consumer on the advisory stream: every stored advisory of the consumer, from
 * the start of the advisory stream, redelivered until its DeadLetter is stored.
 */
function sweeperConfig(stream: string, consumer: string): Partial<ConsumerConfig> {
  return {
    durable_name: sweeperName(consumer),
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    replay_policy: ReplayPolicy.Instant,
    filter_subject: maxDeliveriesSubject(stream, consumer),
    ack_wait: nanos(30_000),
    max_deliver: -1,
    max_ack_pending: 16,
  };
}

/**
 * Dead-letters the messages the server gives up on without any ack (the consuming process died or
 * hung through the last delivery's ack wait): reads the max-deliveries advisories of each consumer in
 * `refs` (durable names with their declarations) from the advisory stream (`<ns>_advisories`, declared by
 * `ensureResources`) through a durable sweeper consumer, so an advisory published while no sweeper was
 * connected is swept when one is. Reads the message by stream sequence and publishes the same
 * DeadLetter as `consume()` under the same message id, so a message dead-lettered by both paths is
 * stored once; an advisory is acked once its DeadLetter is stored and retried otherwise. A message no
 * longer in the stream is dead-lettered with an empty payload and a reason saying so. Stops when the
 * bus closes.
 */
export async function watchMaxDeliveries(
  bus: BusConnection,
  refs: readonly DeclaredConsumer[],
): Promise<MaxDeliveriesWatch> {
  const jsm = await jetStreamManagerOf(bus);
  const advisories = advisoryStreamName(bus.namespace);
  const feeds: ConsumerMessages[] = [];
  const loops: Promise<void>[] = [];
  const stopAll = async (): Promise<void> => {
    await Promise.all(feeds.map((f) => f.close()));
    await Promise.allSettled(loops);
  };
  try {
    for (const ref of refs) {
      const { name, declaration: decl } = ref;
      const stream = streamName(bus.namespace, decl.stream);
      const label = `${stream}/${name}`;
      try {
        await jsm.consumers.add(advisories, sweeperConfig(stream, name));
      } catch (err) {
        throw new Error(
          `cannot create the max-deliveries sweeper ${advisories}/${sweeperName(name)} for ${label} (were the resources ensured?): ${String(err)}`,
          { cause: err },
        );
      }
      const feed = await (await jetStreamOf(bus).consumers.get(advisories, sweeperName(name))).consume({
        max_messages: 16,
      });
      feeds.push(feed);
      loops.push(
        (async () => {
          for await (const m of feed) {
            const outcome = await sweep(bus, name, decl, m.subject, m.data).catch((e: unknown) => {
              bus.emit("bus.dead_letter_failed", "error", {
                consumer: label,
                subject: m.subject,
                error: String(e),
              });
              return "failed" as const;
            });
            if (outcome === "stored") m.ack();
            else if (outcome === "rejected") m.term();
            else m.nak(SWEEP_RETRY_MS);
          }
        })().catch((err: unknown) => {
          bus.emit("bus.advisory_sweeper_failed", "error", { consumer: label, error: String(err) });
        }),
      );
    }
  } catch (err) {
    await stopAll();
    throw err;
  }
  let stopping: Promise<void> | undefined;
  let unregister = (): void => {};
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      unregister();
      await stopAll();
    })();
    return stopping;
  };
  unregister = bus.onClose(stop);
  return { stop };
}

/**
 * Reads the advisory's message from the stream and dead-letters it: `stored` when its DeadLetter is
 * stored, `failed` when not (reported), `rejected` for an unusable advisory (reported).
 */
async function sweep(
  bus: BusConnection,
  name: string,
  decl: ConsumerDeclaration,
  subject: string,
  data: Uint8Array,
): Promise<"stored" | "failed" | "rejected"> {
  const stream = streamName(bus.namespace, decl.stream);
  const label = `${stream}/${name}`;
  const advisory = parseAdvisory(data);
  if (typeof advisory === "string" || advisory.stream !== stream || advisory.consumer !== name) {
    bus.emit("bus.advisory_rejected", "error", {
      consumer: label,
      subject,
      reason:
        typeof advisory === "string"
          ? advisory
          : `advisory names ${advisory.stream}/${advisory.consumer}, not ${label}`,
    });
    return "rejected";
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
    return outcomeOf(
      await publishDeadLetter(bus, {
        ...given,
        subject,
        headers: undefined,
        payload: new Uint8Array(),
        reason: `${unacked}; reading message ${seq} of stream ${stream} failed (${String(err)}), so the payload is not included: it may still be in the stream`,
      }),
    );
  }
  if (stored === null) {
    return outcomeOf(
      await publishDeadLetter(bus, {
        ...given,
        subject,
        headers: undefined,
        payload: new Uint8Array(),
        reason: `${unacked}; message ${seq} is no longer in stream ${stream} (removed by limits or deleted), so its payload and subject are lost`,
      }),
    );
  }
  return outcomeOf(
    await publishDeadLetter(bus, {
      ...given,
      subject: stored.subject,
      headers: stored.header,
      payload: stored.data,
      reason: unacked,
    }),
  );
}

function outcomeOf(stored: boolean): "stored" | "failed" {
  return stored ? "stored" : "failed";
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
