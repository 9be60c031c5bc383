import pino from "pino";
import type { WorkerSettingsInput } from "../../../contracts/messages/worker-settings.ts";
import { startActor } from "../../runtime/actor.ts";
import type { ActorExitCode } from "../../runtime/exit-codes.ts";
import type { ChildCommand } from "../child-processes.ts";
import { childInstanceId, type EmbeddedRunResult } from "../embedded-run.ts";
import { createWeatherlight } from "../main.ts";
import type { RunEvent } from "../run-events.ts";

/** An embedded run's Weatherlight in this process, with real actor children (the tests' stack). */
export interface EmbeddedStack {
  /** Every run event so far, in order. */
  readonly events: RunEvent[];
  readonly result: Promise<EmbeddedRunResult>;
  /** Weatherlight's exit code. */
  readonly done: Promise<ActorExitCode>;
  /** The health endpoint's base URL, once it listens. */
  healthUrl(): string;
  /** The pids of `actor`'s spawns so far, oldest first. */
  pids(actor: string): number[];
  /** Resolves with the first event (already seen or to come) matching `match`; rejects after `timeoutMs`. */
  waitFor(match: (event: RunEvent) => boolean, what: string, timeoutMs?: number): Promise<RunEvent>;
  /** Drains Weatherlight (it stops its children) and waits for its end. */
  stop(): Promise<void>;
}

/** What one embedded stack runs. */
export interface EmbeddedStackOptions {
  readonly natsUrl: string;
  readonly namespace: string;
  readonly runId: string;
  readonly runDir: string;
  readonly signingKey: string;
  readonly settings: WorkerSettingsInput;
  /** The job preset; default spirals-soak (long enough to kill actors within it). */
  readonly job?: string;
  readonly childCommand?: (actor: string) => ChildCommand;
}

/** Starts Weatherlight for one run (default job spirals-soak), in this process, on a free health port. */
export function startEmbeddedStack(options: EmbeddedStackOptions): EmbeddedStack {
  const events: RunEvent[] = [];
  const waiters: { match: (e: RunEvent) => boolean; resolve: (e: RunEvent) => void }[] = [];
  let url: string | undefined;
  const weatherlight = createWeatherlight({
    runDirectory: { dir: options.runDir },
    job: options.job ?? "spirals-soak",
    childLogLevel: "warn",
    settings: options.settings,
    http: {
      port: 0,
      onListening: (u) => {
        url = u;
      },
    },
    onEvent: (event) => {
      events.push(event);
      for (const w of [...waiters]) {
        if (!w.match(event)) continue;
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(event);
      }
    },
    onChildOutput: () => undefined,
    ...(options.childCommand !== undefined ? { childCommand: options.childCommand } : {}),
  });
  // Observed by the tests that need it; a failed setup shows in `done`.
  weatherlight.result.catch(() => undefined);
  const handle = startActor(weatherlight.actor, {
    env: {
      ESPER_NATS_URL: options.natsUrl,
      ESPER_NAMESPACE: options.namespace,
      ESPER_RUN_ID: options.runId,
      ESPER_SIGNING_KEY: options.signingKey,
      ESPER_INSTANCE_ID: childInstanceId("weatherlight", options.runId),
      ESPER_LOG_LEVEL: "warn",
    },
    logDestination: pino.destination(2),
  });
  return {
    events,
    result: weatherlight.result,
    done: handle.done,
    healthUrl() {
      if (url === undefined) throw new Error("the health server is not listening yet");
      return url;
    },
    pids(actor) {
      return events
        .filter((e) => e.kind === "actor" && e.actor === actor && e.state === "spawned")
        .map((e) => Number((e as { detail: string }).detail.replace("pid ", "")));
    },
    waitFor(match, what, timeoutMs = 30_000) {
      const seen = events.find(match);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${what} within ${timeoutMs} ms`)), timeoutMs);
        waiters.push({
          match,
          resolve: (e) => {
            clearTimeout(timer);
            resolve(e);
          },
        });
      });
    },
    async stop() {
      handle.drain("test end");
      await handle.done;
    },
  };
}

/** Matches the run event `state` of `actor` (e.g. `ready`, `restarted`, `gave-up`). */
export function actorState(actor: string, state: string): (event: RunEvent) => boolean {
  return (e) => e.kind === "actor" && e.actor === actor && e.state === state;
}
