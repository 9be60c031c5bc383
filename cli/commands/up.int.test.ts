import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RunSummary } from "../../actors/weatherlight/summary-schema.ts";
import { connectBus } from "../../bus/connection.ts";
import { jetStreamManagerOf } from "../../bus/jetstream/context.ts";
import { streamName } from "../../bus/jetstream/declarations.ts";
import { openBucket } from "../../bus/kv.ts";
import { readRecording } from "../../bus/recording/reader.ts";
import { resolveSubject } from "../../contracts/subjects.ts";
import { useNatsServer } from "../../test/bus-fixture.ts";
import { type EsperResult, runEsper, startEsper } from "../../test/esper-process.ts";

const fixture = useNatsServer();
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "esper-up-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const GROWTH = ["GERMINATED", "TRAINING", "BLENDING", "SHADOWING", "PROBATIONARY", "FOSSILIZED"];

function up(runId: string, namespace: string): Promise<EsperResult> {
  return runEsper(
    ["up", "--nats", fixture.server.url, "--run-dir", join(dir, runId), "--json"],
    { ESPER_NAMESPACE: namespace, ESPER_RUN_ID: runId, ESPER_SIGNING_KEY: "up-test-signing-key-0123456789" },
    240_000,
  );
}

async function summaryOf(runId: string): Promise<RunSummary> {
  return RunSummary.parse(JSON.parse(await readFile(join(dir, runId, "summary.json"), "utf8")));
}

/** A TCP port free on 127.0.0.1 now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Polls `GET /healthz` every 50 ms until it answers `status` (30 s at most). */
async function healthStatusBecomes(url: string, status: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  let last = "";
  while (Date.now() < deadline) {
    const res = await fetch(url);
    last = `${res.status} ${await res.text()}`;
    if (res.status === status) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} did not answer ${status} within 30 s; last: ${last}`);
}

/** The run tokens of the run-level subjects in a run's recording. */
async function recordedRuns(runId: string, namespace: string): Promise<Set<string>> {
  const { frames } = await readRecording(join(dir, runId, "bus.esperrec"));
  const runs = new Set<string>();
  for (const f of frames) {
    const resolved = resolveSubject(namespace, f.subject);
    const run = resolved?.params.run;
    if (run !== undefined) runs.add(run);
  }
  return runs;
}

describe("esper up (real processes, nats-server, onnxruntime, file system)", { timeout: 300_000 }, () => {
  it("runs the default job to the end: a seed grows to FOSSILIZED, accuracy rises, every command resolved", async () => {
    const result = await up("run-e2e", "upe2e");
    expect(result.stderr).toContain("run completed: job complete");
    expect(result.code).toBe(0);

    const summary = await summaryOf("run-e2e");
    expect(summary.outcome).toBe("completed");
    const grown = summary.seeds.find((s) => s.timeline.some((c) => c.to === "FOSSILIZED"));
    expect(grown, JSON.stringify(summary.seeds)).toBeDefined();
    const path = grown?.timeline.map((c) => c.to) ?? [];
    expect(path.filter((stage) => GROWTH.includes(stage))).toEqual(GROWTH);

    // The germination's epoch: the last state packet before Tamiyo issued the command (the stage
    // changes arrive with Kasmina's telemetry flush, up to a second and many epochs later).
    const germinate = summary.commands.list.find((c) => c.targetSeedId === grown?.seedId);
    expect(germinate?.status).toBe("applied");
    const issuedAt = germinate?.issuedAtMs ?? 0;
    const before = summary.epochs.filter((e) => e.atMs <= issuedAt).at(-1);
    expect(before?.epoch, "germinated before half the run").toBeLessThan(summary.epochs.length / 2);
    const last = summary.epochs.at(-1);
    expect(before).toBeDefined();
    expect(last?.validationAccuracy).toBeGreaterThan(before?.validationAccuracy ?? 1);
    expect(summary.parameterCount?.last).toBeGreaterThan(summary.parameterCount?.first ?? Infinity);

    expect(summary.commands.issued).toBeGreaterThan(0);
    expect(summary.commands.unresolved).toBe(0);
    expect(summary.commands.applied + summary.commands.rejected).toBe(summary.commands.issued);
    expect(summary.timeouts.count).toBe(0);

    const { frames } = await readRecording(join(dir, "run-e2e", "bus.esperrec"));
    expect(frames.length).toBeGreaterThan(summary.messages.statePackets);
    const telemetry = (await readFile(join(dir, "run-e2e", "telemetry.jsonl"), "utf8")).trim().split("\n");
    expect(telemetry.length).toBeGreaterThan(0);
    for (const line of telemetry) expect(() => JSON.parse(line)).not.toThrow();

    const bus = await connectBus({ name: "up-test", namespace: "upe2e", ...fixture.server.address });
    try {
      const jsm = await jetStreamManagerOf(bus);
      const routed = await jsm.streams.info(streamName("upe2e", "telemetryNormal"));
      expect(routed.state.messages, "raw telemetry routed to the normal stream").toBeGreaterThan(0);
      const kasminaState = await openBucket(bus, "kasminaState");
      expect(await kasminaState.get("run-e2e"), "Kasmina's state of the ended run").toBeUndefined();
    } finally {
      await bus.close();
    }
    const events = result.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { kind: string });
    expect(events.filter((e) => e.kind === "epoch")).toHaveLength(summary.epochs.length);
    expect(events.at(-1)).toMatchObject({ kind: "finished", outcome: "completed" });
  });

  it("runs two jobs at once on one namespace, each to its own run directory, without cross-talk", async () => {
    const [a, b] = await Promise.all([up("run-two-a", "uptwo"), up("run-two-b", "uptwo")]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    for (const run of ["run-two-a", "run-two-b"]) {
      const summary = await summaryOf(run);
      expect(summary.runId).toBe(run);
      expect(summary.outcome).toBe("completed");
      expect(summary.commands.unresolved).toBe(0);
      expect(summary.messages.rejected).toBe(0);
      expect(await recordedRuns(run, "uptwo")).toEqual(new Set([run]));
    }
  });

  it("restarts an actor SIGKILLed mid-run; the stack becomes operational again and the run completes", async () => {
    const port = await freePort();
    const healthz = `http://127.0.0.1:${port}/healthz`;
    const up = startEsper(
      [
        "up",
        "--nats",
        fixture.server.url,
        "--run-dir",
        join(dir, "run-kill"),
        "--json",
        "--http",
        String(port),
      ],
      {
        ESPER_NAMESPACE: "upkill",
        ESPER_RUN_ID: "run-kill",
        ESPER_SIGNING_KEY: "up-test-signing-key-0123456789",
      },
      240_000,
    );
    let result: EsperResult;
    try {
      const kasmina = JSON.parse(
        await up.waitForLine((l) => l.includes('"state":"spawned"') && l.includes('"actor":"kasmina"')),
      ) as { detail: string };
      await up.waitForLine((l) => l.includes('"state":"ready"') && l.includes('"actor":"tolaria"'));
      await healthStatusBecomes(healthz, 200);
      process.kill(Number(kasmina.detail.replace("pid ", "")), "SIGKILL");
      await healthStatusBecomes(healthz, 503);
      await healthStatusBecomes(healthz, 200);
      result = await up.result;
    } finally {
      // A failed wait must not leave the stack running past the test (its children follow it).
      await up.kill();
    }
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain(`esper up: health ${healthz}\n`);
    const events = result.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const kasminaStates = events.filter((e) => e.actor === "kasmina").map((e) => e.state);
    expect(kasminaStates).toEqual(
      expect.arrayContaining(["exited", "restarting", "spawned", "ready", "restarted"]),
    );
    expect(kasminaStates.indexOf("restarted")).toBeGreaterThan(kasminaStates.indexOf("exited"));
    expect((await summaryOf("run-kill")).outcome).toBe("completed");
  });

  it("without a reachable server, fails before starting any actor and says why", async () => {
    const result = await runEsper(
      ["up", "--nats", "nats://127.0.0.1:1", "--run-dir", join(dir, "run-nonats")],
      { ESPER_RUN_ID: "run-nonats", ESPER_CONNECT_TIMEOUT_MS: "1000" },
      60_000,
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/weatherlight: preflight failed: .*127\.0\.0\.1:1/);
    expect(result.stderr).not.toContain("spawned");
  });
});
