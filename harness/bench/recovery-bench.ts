import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { RunEvent } from "../../actors/weatherlight/run-events.ts";
import { settingsSetRequest } from "../../actors/weatherlight/settings-owner.ts";
import type { HealthSnapshot } from "../../actors/weatherlight/system-health-schema.ts";
import { connectBus } from "../../bus/connection.ts";
import { startLocalNatsServer } from "../../bus/server/local-nats-server.ts";
import { request } from "../../bus/typed.ts";
import { round, summarize } from "./stats.ts";

const ESPER = fileURLToPath(new URL("../../bin/esper.js", import.meta.url));

/** Goal of issue #14: p95 from an actor's SIGKILL to the stack operational again. */
export const RECOVERY_GOAL_MS = 2_000;
/** The actors killed, round-robin (Tolaria's crash ends the run: it is not restartable yet). */
export const KILLED_ACTORS = ["kasmina", "tamiyo", "urza"] as const;
/** How often /healthz is polled while a kill recovers. */
const POLL_MS = 10;

/** What `esper bench recovery` does. */
export interface RecoveryBenchOptions {
  /** Kills (default 10). */
  readonly kills: number;
  /** The job of the run; long enough to outlive every kill (default spirals-soak). */
  readonly job: string;
  /** Pause after the stack is operational again before the next kill, ms (default 500). */
  readonly settleMs: number;
  /** Give up on one kill's recovery after this long, ms (default 30 000). */
  readonly recoveryTimeoutMs: number;
}

/** One kill and what followed, times from the SIGKILL in ms. */
export interface KillSample {
  readonly actor: string;
  readonly killedPid: number;
  /** Weatherlight saw the exit (the `exited` event). */
  readonly exitSeenMs: number;
  /** The new process was spawned (after the backoff). */
  readonly respawnedMs: number;
  /** The new process's `running` heartbeat (the `restarted` event). */
  readonly readyMs: number;
  /** /healthz answered 200 with the new pid (the stack operational again). */
  readonly operationalMs: number;
  /** The backoff Weatherlight chose (from its `restarting` event). */
  readonly backoffMs: number;
  /** The new process's own log (its lifecycle lines, info level): modules imported, preflight passed, running. */
  readonly child: ChildStartMarks;
}

/** When the new process logged each lifecycle step, ms from the SIGKILL. */
export interface ChildStartMarks {
  /** `created → preflight`: node started and the module graph is imported. */
  readonly importedMs: number;
  /** `preflight → starting`: connected, the bus resources and settings checked, the actor's checks passed. */
  readonly preflightMs: number;
  /** `starting → running`: the actor's `start()` returned; the running heartbeat goes out now. */
  readonly runningMs: number;
}

/** What `esper bench recovery --json` prints. */
export interface RecoveryBenchReport {
  readonly bench: "recovery";
  readonly job: string;
  readonly kills: number;
  readonly killedActors: readonly string[];
  /** SIGKILL → /healthz operational with the new process: p50/p95/max, ms. */
  readonly recoveryMs: {
    readonly p50: number;
    readonly p95: number;
    readonly max: number;
    readonly mean: number;
  };
  /** Where the time goes, p50 per phase (ms): exit seen, backoff, spawn → ready, ready → healthz 200. */
  readonly phasesP50Ms: {
    readonly exitSeen: number;
    readonly backoff: number;
    readonly spawnToReady: number;
    readonly readyToOperational: number;
  };
  /** spawn → ready split by the child's lifecycle log, p50 (ms): node start + imports, connect + preflight, start(), running heartbeat → Weatherlight's ready. */
  readonly spawnToReadyP50Ms: {
    readonly nodeAndImports: number;
    readonly connectAndPreflight: number;
    readonly start: number;
    readonly heartbeatToReady: number;
  };
  readonly goalMs: number;
  readonly ok: boolean;
  readonly samples: readonly KillSample[];
  /** How the run ended after the kills (stopped by the bench). */
  readonly runOutcome: string;
}

/**
 * A child's lifecycle log line as `esper up` relays it on stderr (`[urza] {"pid":…,"time":…,"msg":"lifecycle
 * created → preflight",…}`): its pid, step and time; undefined for any other line.
 */
export function lifecycleMark(line: string): { pid: number; step: string; atMs: number } | undefined {
  const match = /^\[[a-z]+\] (\{.*\})$/.exec(line);
  if (match?.[1] === undefined) return undefined;
  let entry: { pid?: unknown; time?: unknown; msg?: unknown };
  try {
    entry = JSON.parse(match[1]) as typeof entry;
  } catch {
    return undefined;
  }
  if (typeof entry.msg !== "string" || !entry.msg.startsWith("lifecycle ")) return undefined;
  if (typeof entry.pid !== "number" || typeof entry.time !== "string") return undefined;
  return { pid: entry.pid, step: entry.msg.slice("lifecycle ".length), atMs: Date.parse(entry.time) };
}

/** A TCP port free on 127.0.0.1 now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function healthOf(url: string): Promise<{ status: number; body: HealthSnapshot } | undefined> {
  try {
    const res = await fetch(url);
    return { status: res.status, body: (await res.json()) as HealthSnapshot };
  } catch {
    return undefined;
  }
}

/**
 * Runs `esper up` on `job` (its own nats-server, a health port), raises the restart intensity through
 * the settings owner so the kills do not halt the run, then SIGKILLs kasmina, tamiyo and urza in turn
 * `kills` times; each time waits for /healthz to answer 200 with the actor's new pid. Stops the stack
 * with SIGINT at the end. Times come from the bench's clock (the SIGKILL, the polls) and Weatherlight's
 * run events (`--json`), same machine.
 */
export async function runRecoveryBench(options: RecoveryBenchOptions): Promise<RecoveryBenchReport> {
  const work = await mkdtemp(join(tmpdir(), "esper-bench-recovery-"));
  const server = await startLocalNatsServer({ storeDir: join(work, "nats") });
  const namespace = "benchrecovery";
  const signingKey = randomBytes(32).toString("hex");
  const port = await freePort();
  const healthz = `http://127.0.0.1:${port}/healthz`;
  const events: RunEvent[] = [];
  const up = spawn(
    process.execPath,
    [
      ESPER,
      "up",
      "--nats",
      server.url,
      "--job",
      options.job,
      "--run-dir",
      join(work, "run"),
      "--json",
      "--log-level",
      "info",
    ].concat(["--http", String(port)]),
    {
      env: { ...process.env, ESPER_NAMESPACE: namespace, ESPER_SIGNING_KEY: signingKey },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let stderrTail = "";
  /** Lifecycle log times of each child process, by pid. */
  const lifecycle = new Map<number, Map<string, number>>();
  let stderrPartial = "";
  up.stderr.setEncoding("utf8").on("data", (c: string) => {
    stderrTail = (stderrTail + c).slice(-4_000);
    const lines = (stderrPartial + c).split("\n");
    stderrPartial = lines.pop() ?? "";
    for (const line of lines) {
      const mark = lifecycleMark(line);
      if (mark === undefined) continue;
      const marks = lifecycle.get(mark.pid) ?? new Map<string, number>();
      marks.set(mark.step, mark.atMs);
      lifecycle.set(mark.pid, marks);
    }
  });
  let partial = "";
  up.stdout.setEncoding("utf8").on("data", (c: string) => {
    const lines = (partial + c).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) if (line.trim() !== "") events.push(JSON.parse(line) as RunEvent);
  });
  const exited = new Promise<number | null>((resolve) => up.once("close", (code) => resolve(code)));
  let ended = false;
  void exited.then(() => {
    ended = true;
  });
  const until = async (cond: () => boolean | Promise<boolean>, what: string, ms: number): Promise<void> => {
    const end = Date.now() + ms;
    while (!(await cond())) {
      if (ended) throw new Error(`esper up ended while waiting for ${what}:\n${stderrTail}`);
      if (Date.now() > end) throw new Error(`no ${what} within ${ms} ms`);
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  };
  const actorEvents = (actor: string, state: string) =>
    events.filter(
      (e): e is Extract<RunEvent, { kind: "actor" }> =>
        e.kind === "actor" && e.actor === actor && e.state === state,
    );
  const pidOf = (actor: string): number => {
    const spawned = actorEvents(actor, "spawned").at(-1);
    if (spawned === undefined) throw new Error(`${actor} was never spawned`);
    return Number(spawned.detail.replace("pid ", ""));
  };
  const operational = async (actor?: string, notPid?: number): Promise<boolean> => {
    const h = await healthOf(healthz);
    if (h?.status !== 200) return false;
    return actor === undefined || h.body.children.find((c) => c.actor === actor)?.pid !== notPid;
  };

  const samples: KillSample[] = [];
  try {
    await until(() => actorEvents("tolaria", "ready").length > 0, "tolaria ready", 60_000);
    await until(() => operational(), "the stack operational", 30_000);
    const bus = await connectBus({ servers: server.url, name: "bench-recovery", namespace });
    try {
      const reply = await request(
        bus,
        "weatherlightSettings",
        settingsSetRequest([{ path: "supervisor.restartIntensity", value: options.kills + 10 }], signingKey, {
          requestedBy: "esper-bench-recovery",
        }),
        { timeoutMs: 5_000 },
      );
      if (!reply.ok) throw new Error(`the restart intensity could not be raised: ${JSON.stringify(reply)}`);
    } finally {
      await bus.close();
    }
    for (let i = 0; i < options.kills; i++) {
      const actor = KILLED_ACTORS[i % KILLED_ACTORS.length] as string;
      const killedPid = pidOf(actor);
      const seen = {
        exited: actorEvents(actor, "exited").length,
        spawned: actorEvents(actor, "spawned").length,
        restarted: actorEvents(actor, "restarted").length,
        restarting: actorEvents(actor, "restarting").length,
      };
      const t0 = Date.now();
      process.kill(killedPid, "SIGKILL");
      await until(
        () => operational(actor, killedPid),
        `${actor} recovered (kill ${i + 1})`,
        options.recoveryTimeoutMs,
      );
      const operationalMs = Date.now() - t0;
      await until(
        () => actorEvents(actor, "restarted").length > seen.restarted,
        "the restarted event",
        5_000,
      );
      const at = (state: string, before: number): number => {
        const e = actorEvents(actor, state)[before];
        if (e === undefined) throw new Error(`no ${state} event of ${actor} after kill ${i + 1}`);
        return e.atMs - t0;
      };
      const restarting = actorEvents(actor, "restarting")[seen.restarting];
      const newPid = Number(actorEvents(actor, "spawned")[seen.spawned]?.detail.replace("pid ", ""));
      await until(
        () => lifecycle.get(newPid)?.has("starting → running") === true,
        "the running log line",
        5_000,
      );
      const step = (name: string): number => {
        const atMs = lifecycle.get(newPid)?.get(name);
        if (atMs === undefined) throw new Error(`${actor} pid ${newPid} logged no 'lifecycle ${name}'`);
        return atMs - t0;
      };
      samples.push({
        actor,
        killedPid,
        exitSeenMs: at("exited", seen.exited),
        respawnedMs: at("spawned", seen.spawned),
        readyMs: at("restarted", seen.restarted),
        operationalMs,
        backoffMs: Number(/ in (\d+) ms/.exec(restarting?.detail ?? "")?.[1] ?? Number.NaN),
        child: {
          importedMs: step("created → preflight"),
          preflightMs: step("preflight → starting"),
          runningMs: step("starting → running"),
        },
      });
      await new Promise((r) => setTimeout(r, options.settleMs));
    }
  } finally {
    if (!ended) up.kill("SIGINT");
    await exited;
    await server.stop();
    await rm(work, { recursive: true, force: true });
  }
  const finished = events.find((e): e is Extract<RunEvent, { kind: "finished" }> => e.kind === "finished");
  const recovery = summarize(samples.map((s) => s.operationalMs));
  const p50 = (values: number[]): number => round(summarize(values).p50, 1);
  return {
    bench: "recovery",
    job: options.job,
    kills: samples.length,
    killedActors: [...KILLED_ACTORS],
    recoveryMs: {
      p50: round(recovery.p50, 1),
      p95: round(recovery.p95, 1),
      max: round(Math.max(...samples.map((s) => s.operationalMs)), 1),
      mean: round(recovery.mean, 1),
    },
    phasesP50Ms: {
      exitSeen: p50(samples.map((s) => s.exitSeenMs)),
      backoff: p50(samples.map((s) => s.backoffMs)),
      spawnToReady: p50(samples.map((s) => s.readyMs - s.respawnedMs)),
      readyToOperational: p50(samples.map((s) => s.operationalMs - s.readyMs)),
    },
    spawnToReadyP50Ms: {
      nodeAndImports: p50(samples.map((s) => s.child.importedMs - s.respawnedMs)),
      connectAndPreflight: p50(samples.map((s) => s.child.preflightMs - s.child.importedMs)),
      start: p50(samples.map((s) => s.child.runningMs - s.child.preflightMs)),
      heartbeatToReady: p50(samples.map((s) => s.readyMs - s.child.runningMs)),
    },
    goalMs: RECOVERY_GOAL_MS,
    ok: recovery.p95 <= RECOVERY_GOAL_MS,
    samples,
    runOutcome: finished === undefined ? "unknown" : `${finished.outcome}: ${finished.reason}`,
  };
}
