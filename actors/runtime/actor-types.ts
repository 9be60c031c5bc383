import type { BusConnection } from "../../bus/connection.ts";
import type { ConsumerRef, MessageFor, StreamMessageContext } from "../../bus/jetstream/consume.ts";
import type { CoreSubjectKey, MessageContext, SubjectSelection } from "../../bus/typed.ts";
import type { WorkerSettings } from "../../contracts/messages/worker-settings.ts";
import type { MessageOf } from "../../contracts/registry.ts";
import type { SubjectMessage } from "../../contracts/subjects.ts";
import type { Logger } from "./logger.ts";
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

/** Options of the mailbox behind a subscription or a JetStream consumer. */
export interface IntakeMailboxOptions {
  readonly mailbox: string;
  readonly mode: MailboxMode;
  readonly capacity?: number;
  readonly concurrency?: number;
}

/** A JetStream message with its delivery context, as queued in a consumer's mailbox. */
export interface StreamDelivery<M> {
  readonly msg: M;
  readonly ctx: StreamMessageContext;
}

/** Options of a core subscription through a mailbox. */
export type ActorSubscribeOptions<K extends CoreSubjectKey> = SubjectSelection<K> & IntakeMailboxOptions;

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
  /** Subscribes to a core subject; messages go through a new mailbox of the given mode. */
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
  /** Records an error: the heartbeat's `lastError`, an ERROR event `<actor>.<area>.error`, and a log line. */
  reportError(area: string, error: unknown): void;
}

/** An actor: its name, its preflight checks, and what it does when running and when draining. */
export interface ActorDefinition {
  /** Actor name: a token of [a-z0-9_-]; first token of its subjects, metrics and events. */
  readonly name: string;
  /** Checks run in order after the bus is connected and the worker settings are loaded. */
  readonly preflight?: readonly PreflightCheck[];
  /** Starts the actor's work (subscriptions, loops). Runs once the actor is `running`. */
  start(ctx: ActorContext): Promise<void>;
  /** Stops the actor's own loops at the start of a drain (mailboxes and the worker are drained after). */
  stop?(ctx: ActorContext): Promise<void>;
  /** Told after the runtime applied a worker settings change. */
  onSettings?(change: SettingsApplied, ctx: ActorContext): void;
}

/** Process exit codes of an actor. */
export const ActorExitCode = {
  /** Drained and stopped cleanly. */
  ok: 0,
  /** Preflight failed, or the actor failed while running. */
  failed: 1,
  /** The process settings (environment) are invalid. */
  badConfig: 2,
  /** A second SIGTERM/SIGINT arrived during the drain. */
  forced: 3,
  /** Work was still running when the drain's grace period ran out. */
  graceExpired: 4,
} as const;
/** One of the ActorExitCode values. */
export type ActorExitCode = (typeof ActorExitCode)[keyof typeof ActorExitCode];

/** Options of `runActor` besides the definition. */
export interface RunActorOptions {
  /** The environment to read process settings from; default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Builds the worker settings source from the connection; default the settings KV bucket. */
  readonly settingsSource?: (bus: BusConnection, ns: string) => SettingsSource | Promise<SettingsSource>;
  /** Installs SIGTERM/SIGINT handlers (default true). */
  readonly handleSignals?: boolean;
}
