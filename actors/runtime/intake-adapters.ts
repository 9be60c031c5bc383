import type { BusConnection } from "../../bus/connection.ts";
import {
  type ConsumerRef,
  consume,
  type MessageFor,
  RetryableError,
  type StreamMessageContext,
} from "../../bus/jetstream/consume.ts";
import {
  type CoreSubjectKey,
  type MessageContext,
  type OptionsArg,
  type ServeOptions,
  serve,
  subscribe,
} from "../../bus/typed.ts";
import { SystemLimits } from "../../contracts/budgets.ts";
import type { WorkerSettings } from "../../contracts/messages/worker-settings.ts";
import type { MessageOf } from "../../contracts/registry.ts";
import type { RequestSubjectKey, SubjectMessage } from "../../contracts/subjects.ts";
import type {
  ActorMailboxOptions,
  ActorServeOptions,
  ActorSubscribeOptions,
  Delivery,
  IntakeMailboxOptions,
  ServeDelivery,
  ServeHandler,
  StreamDelivery,
} from "./actor-types.ts";
import { type Mailbox, MailboxClosedError } from "./mailbox.ts";

/** What an intake adapter needs of the runtime. */
export interface IntakeHost {
  readonly bus: BusConnection;
  readonly actor: string;
  /** Creates a mailbox the runtime watches and drains. */
  createMailbox<M>(opts: ActorMailboxOptions<M>): Mailbox<M>;
  /** Registers the intake's stop, called at the start of the drain (before the mailboxes drain). */
  addIntake(stop: (graceMs: number) => Promise<void>): void;
  /** The worker settings in force. */
  settings(): WorkerSettings;
}

/** Handlers in flight the bus may hold for an endpoint: every mailbox slot and queued request. */
const ENDPOINT_IN_FLIGHT = SystemLimits.maxQueueDepth + 256;

function mailboxOptions<M>(
  o: IntakeMailboxOptions,
  handler: (m: M, signal: AbortSignal) => Promise<void>,
): ActorMailboxOptions<M> {
  return {
    name: o.mailbox,
    mode: o.mode,
    handler,
    ...(o.capacity !== undefined ? { capacity: o.capacity } : {}),
    ...(o.concurrency !== undefined ? { concurrency: o.concurrency } : {}),
  };
}

/**
 * A core subscription into a mailbox. The bus handler is synchronous (`offer`), so the bus never
 * queues a message: the mailbox is the subscription's one bounded buffer, and a message arriving
 * when it is full (or closed by the drain) is dropped and counted by the mailbox.
 */
export function subscribeIntake<K extends CoreSubjectKey>(
  host: IntakeHost,
  key: K,
  handler: (msg: MessageOf<SubjectMessage<K>>, ctx: MessageContext, signal: AbortSignal) => Promise<void>,
  opts: ActorSubscribeOptions<K>,
): Mailbox<Delivery<MessageOf<SubjectMessage<K>>>> {
  const box = host.createMailbox<Delivery<MessageOf<SubjectMessage<K>>>>(
    mailboxOptions(opts, (d, signal) => handler(d.msg, d.ctx, signal)),
  );
  const sub = subscribe(
    host.bus,
    key,
    (msg, ctx) => {
      box.offer({ msg, ctx });
    },
    {
      ...(opts.params !== undefined ? { params: opts.params } : {}),
      ...(opts.queue !== undefined ? { queue: opts.queue } : {}),
      maxInFlight: 1,
    } as Parameters<typeof subscribe<K>>[3],
  );
  host.addIntake((graceMs) => sub.stop(graceMs));
  return box;
}

/**
 * A request/reply endpoint into a mailbox: a request is queued with `tryHandle` on arrival; when the
 * mailbox is full or closed it is dropped, counted and answered with an error at once, so the
 * requester does not wait for a timeout. The handler's result is the reply.
 */
export function serveIntake<K extends RequestSubjectKey>(
  host: IntakeHost,
  key: K,
  handler: ServeHandler<K>,
  opts: ActorServeOptions<K>,
): Mailbox<ServeDelivery<K>> {
  type D = ServeDelivery<K>;
  const box = host.createMailbox<D>(
    mailboxOptions(opts, async (d, signal) => {
      d.reply = await handler(d.req, d.ctx, signal);
    }),
  );
  const flow = {
    ...(opts.params !== undefined ? { params: opts.params } : {}),
    ...(opts.queue !== undefined ? { queue: opts.queue } : {}),
    maxInFlight: ENDPOINT_IN_FLIGHT,
  } as ServeOptions<K>;
  const endpoint = serve(
    host.bus,
    key,
    (req, ctx) => {
      const d: D = { req, ctx };
      const handled = box.tryHandle(d);
      if (handled === undefined)
        throw new Error(`${host.actor} is busy or draining: mailbox '${box.name}' refused the request`);
      return handled.then(() => {
        if (d.reply === undefined) throw new Error(`${host.actor}: the handler gave no reply`);
        return d.reply;
      });
    },
    ...([flow] as OptionsArg<K, ServeOptions<K>>),
  );
  host.addIntake((graceMs) => endpoint.stop(graceMs));
  return box;
}

/**
 * A durable JetStream consumer into a mailbox. The consumer waits for room (the server keeps the
 * messages; `maxAckPending` bounds what is in flight); a message is acked when its handler succeeds,
 * and one arriving while draining is nak'd for redelivery. A handler gets `worker.defaultTimeoutMs`
 * (pushed out by `ctx.working()`); past it the bus aborts its signal and dead-letters the message.
 */
export async function consumeIntake<R extends ConsumerRef>(
  host: IntakeHost,
  ref: R,
  handler: (msg: MessageFor<R>, ctx: StreamMessageContext, signal: AbortSignal) => Promise<void>,
  opts: IntakeMailboxOptions,
): Promise<Mailbox<StreamDelivery<MessageFor<R>>>> {
  const box = host.createMailbox<StreamDelivery<MessageFor<R>>>(
    mailboxOptions(opts, (d, signal) => handler(d.msg, d.ctx, AbortSignal.any([signal, d.ctx.signal]))),
  );
  const consumer = await consume(
    host.bus,
    ref,
    (msg, ctx) =>
      box.handle({ msg, ctx }).catch((error: unknown) => {
        if (error instanceof MailboxClosedError) throw new RetryableError(`${host.actor} is draining`);
        throw error;
      }),
    { handlerDeadlineMs: host.settings().worker.defaultTimeoutMs },
  );
  host.addIntake((graceMs) => consumer.stop(graceMs));
  return box;
}
