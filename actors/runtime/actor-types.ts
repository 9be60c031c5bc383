import type { DestinationStream } from "pino";
import type { BusConnection } from "../../bus/connection.ts";
import type { ConsumerRef, MessageFor, StreamMessageContext } from "../../bus/jetstream/consume.ts";
import type { CoreSubjectKey, MessageContext, SubjectSelection, SubjectTarget } from "../../bus/typed.ts";
import type { WorkerSettings, WorkerSettingsInput } from "../../contracts/messages/worker-settings.ts";
import type { MessageInput, MessageOf } from "../../contracts/registry.ts";
import type { RequestSubjectKey, SubjectMessage, SubjectReply } from "../../contracts/subjects.ts";
import type { Logger } from "./logger.ts";
import type { LongTask } from "./long-tasks.ts";
import type { Mailbox, MailboxMode } from "./mailbox.ts";
import type { ProcessSettings } from "./process-settings.ts";
import type { SettingsApplied, SettingsSource } from "./settings-watcher.ts";
import type { TaskQueue } from "./task-queue.ts";
import type { TelemetryEmitter } from "./telemetry.ts";

/** A named check run during preflight; throwing (e.g. a DependencyViolationError) stops the start. */
export interface PreflightCheck {
  readonly name: string;
  run(ctx: ActorContext): void | Promise<void>;
}

/** Options of a mailbox created through the context. Capacity and concurrency default to the worker settings and follow them live. */
export interface ActorMailboxOptions<M> {
  /** Mailbox name: a token of [a-z0-9_-] (used in metric names and heartbeat depths). */
  readonly name: string;
  readonly mode: MailboxMode;
  readonly handler: (message: M, signal: AbortSignal) => Promise<void>;
  readonly capacity?: number;
  readonly concurrency?: number;
}

/** A decoded message with where it came from, as queued in a subscription's mailbox. */
export interface Delivery<M> {
  readonly msg: M;
  readonly ctx: MessageContext;
}

/** Options of the mailbox behind a subscription, an endpoint or a JetStream consumer. */
export interface IntakeMailboxOptions {
  readonly mailbox: string;
  readonly mode: MailboxMode;
  /**
   * The intake's pending limit: most messages waiting in its mailbox (default and live: worker
   * settings `mailbox.capacity`). For a subscription or an endpoint, a message arriving when it is
   * full is dropped and counted; a JetStream consumer waits for room instead.
   */
  readonly capacity?: number;
  readonly concurrency?: number;
}

/** Options of a core subscription or an endpoint besides its mailbox. */
export interface QueueGroupOption {
  /** Queue group: each message goes to one member of the group (one instance of a scaled actor). */
  readonly queue?: string;
}

/** A request with where it came from, as queued in an endpoint's mailbox; `reply` is set by the handler's result. */
export interface RequestDelivery<Req, Rep> {
  readonly req: Req;
  readonly ctx: MessageContext;
  reply?: Rep;
}

/** Answers one request on subject `K`: the result is the reply. */
export type ServeHandler<K extends RequestSubjectKey> = (
  req: MessageOf<SubjectMessage<K>>,
  ctx: MessageContext,
  signal: AbortSignal,
) => Promise<MessageInput<SubjectReply<K>>>;

/** A request on subject `K` with its reply, as queued in an endpoint's mailbox. */
export type ServeDelivery<K extends RequestSubjectKey> = RequestDelivery<
  MessageOf<SubjectMessage<K>>,
  MessageInput<SubjectReply<K>>
>;

/** A JetStream message with its delivery context, as queued in a consumer's mailbox. */
export interface StreamDelivery<M> {
  readonly msg: M;
  readonly ctx: StreamMessageContext;
}

/** Options of a core subscription through a mailbox. */
export type ActorSubscribeOptions<K extends CoreSubjectKey> = SubjectSelection<K> &
  IntakeMailboxOptions &
  QueueGroupOption;

/** Options of a request/reply endpoint through a mailbox. */
export type ActorServeOptions<K extends RequestSubjectKey> = SubjectTarget<K> &
  IntakeMailboxOptions &
  QueueGroupOption;

/** What an actor sees of the runtime. */
export interface ActorContext {
  readonly name: string;
  readonly process: ProcessSettings;
  readonly runId: string;
  readonly log: Logger;
  readonly bus: BusConnection;
  /** The process's shared TaskQueue (async tasks on the main thread with deadlines), configured from the `worker` settings. */
  readonly worker: TaskQueue;
  readonly telemetry: TelemetryEmitter;
  /** Fires when the actor starts draining. */
  readonly signal: AbortSignal;
  /** The worker settings in force. */
  settings(): WorkerSettings;
  /** Creates a mailbox the runtime watches (metrics, heartbeat depths) and drains on shutdown. */
  mailbox<M>(opts: ActorMailboxOptions<M>): Mailbox<M>;
  /**
   * Subscribes to a core subject (optionally in a queue group); messages go through a new mailbox of
   * the given mode, which is the subscription's only buffer: a message arriving when it is full is
   * dropped, counted (`<actor>.mailbox.<name>.dropped`) and reported in a summarised WARNING event.
   */
  subscribe<K extends CoreSubjectKey>(
    key: K,
    handler: (msg: MessageOf<SubjectMessage<K>>, ctx: MessageContext, signal: AbortSignal) => Promise<void>,
    opts: ActorSubscribeOptions<K>,
  ): Mailbox<Delivery<MessageOf<SubjectMessage<K>>>>;
  /**
   * Consumes a declared durable JetStream consumer through a new mailbox. A message is acked when its
   * handler succeeds; a RetryableError (or the actor draining) naks it for redelivery; any other error
   * dead-letters it (the bus's rules).
   */
  consume<R extends ConsumerRef>(
    ref: R,
    handler: (msg: MessageFor<R>, ctx: StreamMessageContext, signal: AbortSignal) => Promise<void>,
    opts: IntakeMailboxOptions,
  ): Promise<Mailbox<StreamDelivery<MessageFor<R>>>>;
  /**
   * Serves a request subject (optionally in a queue group) through a new mailbox: the handler's
   * result is the reply. A request arriving when the mailbox is full or draining is dropped, counted
   * and answered with an error; the endpoint stops at the drain like a subscription.
   */
  serve<K extends RequestSubjectKey>(
    key: K,
    handler: ServeHandler<K>,
    opts: ActorServeOptions<K>,
  ): Mailbox<ServeDelivery<K>>;
  /**
   * Starts a long task (a training loop) that runs after `start()` returned. Its signal is the drain
   * signal; the drain waits for it (within the grace). A task that throws fails the actor: lifecycle
   * `failed`, CRITICAL `<actor>.lifecycle.failed`, a drain, exit ActorExitCode.taskFailed.
   */
  runTask(name: string, task: LongTask): void;
  /** Ends the actor normally: a drain, then exit 0 (e.g. Tolaria at the end of its job). */
  finish(reason: string): void;
  /**
   * Ends the actor as failed: CRITICAL `<actor>.lifecycle.failed` with `reason`, a drain, lifecycle
   * `failed`, exit ActorExitCode.gaveUp (a permanent failure: the supervisor does not restart it).
   */
  fail(reason: string): void;
  /** Records an error: the heartbeat's `lastError`, an ERROR event `<actor>.<area>.error`, and a log line. */
  reportError(area: string, error: unknown): void;
}

/** The supervisor role (Weatherlight): it creates the bus resources and owns the worker settings. */
export interface SupervisorRole {
  /**
   * The worker settings from the supervisor's configuration. In preflight the runtime runs
   * `ensureResources` and writes these to the settings bucket (when the stored value differs) before
   * loading them.
   */
  initialSettings(process: ProcessSettings): WorkerSettingsInput | Promise<WorkerSettingsInput>;
}

/** An actor: its name, its preflight checks, and what it does when running and when draining. */
export interface ActorDefinition {
  /** Actor name: a token of [a-z0-9_-]; first token of its subjects, metrics and events. */
  readonly name: string;
  /** Checks run in order after the bus is connected and the worker settings are loaded. */
  readonly preflight?: readonly PreflightCheck[];
  /**
   * Set only for the supervisor: creates the bus resources and writes the worker settings in
   * preflight, and drains within `supervisor.shutdownGraceMs` instead of `worker.shutdownGraceMs`.
   */
  readonly supervisor?: SupervisorRole;
  /**
   * Sets the actor up (subscriptions, endpoints, long tasks through `ctx.runTask`) and returns; the
   * actor is `starting` while it runs and `running` (ready) once it resolved. A drain requested
   * meanwhile aborts `ctx.signal` and waits for it (bounded by the hard stop).
   */
  start(ctx: ActorContext): Promise<void>;
  /** Stops the actor's own loops at the start of a drain (mailboxes and the worker are drained after). */
  stop?(ctx: ActorContext): Promise<void>;
  /** Told after the runtime applied a worker settings change. */
  onSettings?(change: SettingsApplied, ctx: ActorContext): void;
}

/** Options of `runActor` besides the definition. */
export interface RunActorOptions {
  /** The environment to read process settings from; default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Builds the worker settings source from the connection; default the settings KV bucket. */
  readonly settingsSource?: (bus: BusConnection, ns: string) => SettingsSource | Promise<SettingsSource>;
  /**
   * Installs the process handlers (default true): SIGTERM/SIGINT, uncaught errors (fail the actor)
   * and the hard stop armed at the drain. False for an actor run inside another process (tests).
   */
  readonly handleSignals?: boolean;
  /** Where the actor's log lines go; default stdout (pretty on a terminal). */
  readonly logDestination?: DestinationStream;
}
