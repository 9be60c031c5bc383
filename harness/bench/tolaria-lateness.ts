import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { settingsSetRequest } from "../../actors/weatherlight/settings-owner.ts";
import { type BusConnection, connectBus } from "../../bus/connection.ts";
import { publishToStream } from "../../bus/jetstream/publish.ts";
import { listenTyped, request } from "../../bus/typed.ts";
import { buildSignedCommand } from "../../cli/commands/command-build.ts";
import { CommandType } from "../../contracts/enums.ts";
import { subjectFor } from "../../contracts/subjects.ts";
import { jobPresets } from "../../nn/presets/job-selection.ts";
import { type LatenessSection, latenessSection } from "./tolaria-summary.ts";

const ESPER = fileURLToPath(new URL("../../bin/esper.js", import.meta.url));
const NAMESPACE = "tolbench";
const RUN = "run-tolbench";
const OPERATOR = "operator";
/** How long a timed command may wait for its ack. */
const ACK_TIMEOUT_MS = 10_000;
/** How long the untimed first command may wait (data loading and the first step come before it). */
const FIRST_ACK_TIMEOUT_MS = 120_000;

/** Options of {@link benchLateness}. */
export interface LatenessOptions {
  /** The job `esper up` trains (its steps hold the main thread while commands and heartbeats wait). */
  readonly job: string;
  /**
   * How long to time commands and heartbeats, in ms, from the ack of one untimed command that marks the
   * start of training; the window ends earlier when the run ends.
   */
  readonly windowMs: number;
  /** Pause between one ack and the next command, in ms. */
  readonly gapMs: number;
  /**
   * The heartbeat interval set (signed `cadence.heartbeatIntervalMs` through Weatherlight) before
   * training, in ms: shorter than the default 1 s so a run of a few seconds gives enough heartbeats.
   */
  readonly heartbeatIntervalMs: number;
}

/**
 * Runs `esper up --job <job>` (own nats-server, operator password and signing key of this bench) and,
 * while Tolaria trains, publishes signed OPTIMIZER commands (the job's own learning rate, within
 * bounds) one at a time, timing each from publish to Tolaria's JetStream ack of it (its handler
 * returns once a step boundary applied it), and records Tolaria's heartbeat timestamps meanwhile.
 * The ack is seen on `$JS.ACK.<stream>.tolaria-commands-<run>.…` (the operator user subscribes anywhere).
 * Tolaria's heartbeat interval is first set to `heartbeatIntervalMs` (the heartbeats' median gap is
 * checked against it).
 */
export async function benchLateness(opts: LatenessOptions): Promise<LatenessSection> {
  const dir = await mkdtemp(join(tmpdir(), "esper-bench-tolaria-"));
  const key = randomBytes(24).toString("hex");
  // A leading letter: nats-server parses a variable's value as a config value (digits first read as a number).
  const pass = `p${randomBytes(24).toString("hex")}`;
  const child = spawn(
    process.execPath,
    [ESPER, "up", "--job", opts.job, "--run-dir", join(dir, "run"), "--json"],
    {
      stdio: ["ignore", "ignore", "pipe"],
      env: {
        ...process.env,
        ESPER_NAMESPACE: NAMESPACE,
        ESPER_RUN_ID: RUN,
        ESPER_SIGNING_KEY: key,
        ESPER_NATS_PASS_OPERATOR: pass,
      },
    },
  );
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (c: string) => {
    stderr = (stderr + c).slice(-64_000);
  });
  const exited = new Promise<number | null>((resolve) => child.once("close", (c) => resolve(c)));
  let ended = false;
  void exited.then(() => {
    ended = true;
  });
  let bus: BusConnection | undefined;
  try {
    const url = await said(
      () => stderr,
      () => ended,
      /nats-server (nats:\/\/\S+)/,
      "its nats-server",
    );
    bus = await connectBus({
      servers: [url],
      name: "esper-bench-tolaria",
      namespace: NAMESPACE,
      user: OPERATOR,
      pass,
    });
    const run = await timeCommands(bus, opts, key, exited);
    const code = await exited;
    if (code !== 0) throw new Error(`esper up exited with code ${code}:\n${stderr.slice(-8_000)}`);
    return latenessSection(opts.job, run.ackMs, run.heartbeats, opts.heartbeatIntervalMs);
  } catch (error) {
    throw new Error(
      `${error instanceof Error ? error.message : String(error)}\nesper up said:\n${stderr.slice(-8_000)}`,
    );
  } finally {
    await bus?.close();
    await stopped(child, exited);
    await rm(dir, { recursive: true, force: true });
  }
}

/** Acks timed and heartbeat timestamps (sender clock) between the first timed publish and the last ack. */
async function timeCommands(
  bus: BusConnection,
  opts: LatenessOptions,
  key: string,
  exited: Promise<unknown>,
): Promise<{ ackMs: number[]; heartbeats: number[] }> {
  let ended = false;
  const runEnd = exited.then(() => {
    ended = true;
    return undefined;
  });
  const beats: number[] = [];
  const beatSub = listenTyped(
    bus,
    subjectFor(NAMESPACE, "heartbeat", { actor: "tolaria" }),
    "Heartbeat",
    (h) => {
      if (h.state === "running") beats.push(h.timestampMs);
    },
    {},
  );
  let intervalAppliedAt: number | undefined;
  const telemetrySub = listenTyped(
    bus,
    subjectFor(NAMESPACE, "telemetryRaw", { actor: "tolaria" }),
    "TelemetryPacket",
    (p) => {
      const applied = p.events.some(
        (e) =>
          e.eventId === "tolaria.settings.applied" &&
          (e.attributes?.changed ?? "").split(",").includes("cadence.heartbeatIntervalMs"),
      );
      if (applied) intervalAppliedAt ??= Date.now();
    },
    {},
  );
  const consumer = `tolaria-commands-${RUN}`;
  const acked = new Map<number, number>();
  const waiters = new Map<number, () => void>();
  const ackSub = bus.nc.subscribe("$JS.ACK.>", {
    callback: (_err, m) => {
      const tokens = m.subject.split(".");
      const i = tokens.indexOf(consumer);
      if (i < 0) return;
      const seq = Number(tokens[i + 2]);
      if (!acked.has(seq)) acked.set(seq, performance.now());
      waiters.get(seq)?.();
    },
  });
  try {
    await bus.nc.flush();
    await setHeartbeatInterval(bus, key, opts.heartbeatIntervalMs, () => ended);
    const preset = jobPresets[opts.job];
    if (preset === undefined) throw new Error(`no job preset '${opts.job}'`);
    const lr = preset.optimizer.lr;
    /** Publish → ack of command `n` in ms; undefined when the run ended before the ack. */
    const one = async (n: number, timeoutMs: number): Promise<number | undefined> => {
      const command = buildSignedCommand(
        {
          runId: RUN,
          commandType: CommandType.OPTIMIZER,
          payload: { kind: "optimizer", optimizerId: "main", learningRate: lr },
          commandId: `bench-${n}`,
        },
        "operator:esper-bench-tolaria",
        { freshnessWindowMs: 60_000, executionDeadlineMs: 5_000 },
        key,
      );
      const t0 = performance.now();
      const ack = await publishToStream(bus, "command", command, {
        params: { run: RUN, target: "tolaria" },
        deadlineMs: 30_000,
      });
      const at = acked.get(ack.seq) ?? (await Promise.race([ackOf(ack.seq, timeoutMs), runEnd]));
      return at === undefined ? undefined : at - t0;
    };
    const ackOf = (seq: number, timeoutMs: number): Promise<number> =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(seq);
          reject(new Error(`Tolaria did not ack command seq ${seq} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.set(seq, () => {
          clearTimeout(timer);
          waiters.delete(seq);
          resolve(acked.get(seq) as number);
        });
      });
    await retryUntilStored(
      () => one(0, FIRST_ACK_TIMEOUT_MS),
      () => ended,
    );
    const startMs = Date.now();
    let toMs = startMs;
    const ackMs: number[] = [];
    for (let n = 1; !ended && Date.now() - startMs < opts.windowMs; n++) {
      const ms = await one(n, ACK_TIMEOUT_MS);
      if (ms === undefined) break;
      ackMs.push(ms);
      toMs = Date.now();
      await new Promise((r) => setTimeout(r, opts.gapMs));
    }
    // Heartbeats before a reported live change keep the old interval: only those after the report count.
    const fromMs = Math.max(startMs, intervalAppliedAt ?? startMs);
    const heartbeats = beats.filter((t) => t >= fromMs && t <= toMs);
    checkInterval(heartbeats, opts.heartbeatIntervalMs);
    return { ackMs, heartbeats };
  } finally {
    await telemetrySub.stop();
    ackSub.unsubscribe();
    await beatSub.stop();
  }
}

/**
 * Tolaria took the set interval: the median gap of its heartbeats is within half of it either way (a
 * setting not applied would show as lateness of the old interval).
 */
function checkInterval(timestampsMs: readonly number[], intervalMs: number): void {
  const gaps = timestampsMs.slice(1).map((t, i) => t - (timestampsMs[i] as number));
  if (gaps.length === 0) throw new Error("no two Tolaria heartbeats while commands were timed");
  const median = [...gaps].sort((a, b) => a - b)[Math.floor(gaps.length / 2)] as number;
  if (Math.abs(median - intervalMs) > intervalMs / 2)
    throw new Error(`Tolaria's heartbeats are ${median} ms apart (median), not the ${intervalMs} ms set`);
}

/** Sets `cadence.heartbeatIntervalMs` through Weatherlight (signed), retried until it answers (60 s). */
async function setHeartbeatInterval(
  bus: BusConnection,
  key: string,
  ms: number,
  ended: () => boolean,
): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const req = settingsSetRequest([{ path: "cadence.heartbeatIntervalMs", value: ms }], key, {
      requestedBy: "esper-bench-tolaria",
    });
    try {
      const reply = await request(bus, "weatherlightSettings", req, { timeoutMs: 5_000 });
      if (!reply.ok)
        throw new Error(`Weatherlight refused cadence.heartbeatIntervalMs=${ms}: ${JSON.stringify(reply)}`);
      return;
    } catch (error) {
      if (
        ended() ||
        Date.now() > deadline ||
        (error instanceof Error && error.message.startsWith("Weatherlight refused"))
      )
        throw error;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** The first command is stored once Weatherlight has declared the streams: retried until then. */
async function retryUntilStored(
  first: () => Promise<number | undefined>,
  ended: () => boolean,
): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      if ((await first()) === undefined) throw new Error("the run ended before training started");
      return;
    } catch (error) {
      if (ended() || Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** The first match of `pattern` on `text()` (polled, 60 s at most, or until the process ended). */
async function said(
  text: () => string,
  ended: () => boolean,
  pattern: RegExp,
  what: string,
): Promise<string> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const m = pattern.exec(text())?.[1];
    if (m !== undefined) return m;
    if (ended() || Date.now() > deadline) throw new Error(`esper up named no ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Ends `esper up` with SIGINT (a clean stop of its stack) when it is still running, and waits for it. */
async function stopped(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGINT");
  await exited;
}
