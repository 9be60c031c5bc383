import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetStreamManagerOf } from "../../bus/jetstream/context.ts";
import { type StreamKey, streamName } from "../../bus/jetstream/declarations.ts";
import { publishToStream } from "../../bus/jetstream/publish.ts";
import { concreteSubject } from "../../bus/typed.ts";
import { decode } from "../../contracts/codec.ts";
import type { AdaptationCommand, CommandPayload } from "../../contracts/messages/command.ts";
import type { EmergencySignal } from "../../contracts/messages/emergency.ts";
import type { SystemStatePacket } from "../../contracts/messages/state.ts";
import type { WorkerSettingsInput } from "../../contracts/messages/worker-settings.ts";
import { sign } from "../../contracts/signing.ts";
import type { JobPreset } from "../../nn/presets/job-preset.ts";
import { loadPresetData } from "../../nn/presets/preset-run.ts";
import { type ActorStage, actorStage } from "../../test/actor-stage.ts";
import type { TestServerFixture } from "../../test/bus-fixture.ts";
import { bootstrapSettings } from "../runtime/settings-bootstrap.ts";
import { trainingDigest } from "./snapshot-digest.ts";
import { Trainer } from "./trainer.ts";

/** Test helper: the signing key of {@link tolariaStage}. */
export const TOLARIA_TEST_KEY = "tolaria-actor-fixture-key-0123456789";

/** Checkpoints a test's Tolaria keeps (`tolaria.rollback.keepCheckpoints` unless the test sets it): all of a test run's. */
export const TEST_KEEP_CHECKPOINTS = 1_000;

/** An actor stage for Tolaria with its checkpoint directory (removed on close) and a silent Tamiyo. */
export interface TolariaStage extends ActorStage {
  readonly checkpoints: string;
}

/**
 * Test helper: a Tolaria stage on `fixture`'s server running job `job`, a Tamiyo that never answers,
 * and `settings` in the settings bucket (keeping {@link TEST_KEEP_CHECKPOINTS} checkpoints unless they say).
 */
export async function tolariaStage(
  fixture: TestServerFixture,
  job: string,
  settings: WorkerSettingsInput,
): Promise<TolariaStage> {
  const checkpoints = await mkdtemp(join(tmpdir(), "tolaria-stage-"));
  const s = await actorStage(fixture, "tolaria", {
    signingKey: TOLARIA_TEST_KEY,
    extraEnv: { ESPER_JOB: job, ESPER_TOLARIA_CHECKPOINT_DIR: checkpoints },
  });
  await bootstrapSettings(s.bus, {
    ...settings,
    tolaria: {
      ...settings.tolaria,
      rollback: { keepCheckpoints: TEST_KEEP_CHECKPOINTS, ...settings.tolaria?.rollback },
    },
  });
  const silentTamiyo = s.bus.nc.subscribe(concreteSubject(s.ns, "tamiyoEvaluate", undefined));
  await s.bus.nc.flush();
  return {
    ...s,
    checkpoints,
    async close() {
      silentTamiyo.unsubscribe();
      await s.close();
      await rm(checkpoints, { recursive: true, force: true });
    },
  };
}

/** What a test may change in a signed command's security block (a forged, replayed or stale one). */
export interface SignOptions {
  readonly key?: string;
  readonly nonce?: string;
  readonly issuedAt?: number;
  readonly freshnessWindowMs?: number;
}

/**
 * Test helper: a command to Tolaria signed with {@link TOLARIA_TEST_KEY}, fresh, its nonce from its id,
 * unless `o` says otherwise.
 */
export function signedCommand(
  s: ActorStage,
  commandId: string,
  commandType: AdaptationCommand["commandType"],
  payload: CommandPayload,
  o: SignOptions = {},
): AdaptationCommand {
  return sign(
    "AdaptationCommand",
    {
      version: 1,
      commandId,
      commandType,
      trainingRunId: s.run,
      executionDeadlineMs: 5_000,
      issuedBy: "operator",
      payload,
      security: {
        signature: "",
        nonce: o.nonce ?? `n-${commandId}`,
        issuedAt: o.issuedAt ?? Date.now(),
        freshnessWindowMs: o.freshnessWindowMs ?? 60_000,
      },
    },
    o.key ?? TOLARIA_TEST_KEY,
  );
}

/** Test helper: stores `c` on Tolaria's command stream of the stage's run. */
export async function sendCommand(s: ActorStage, c: AdaptationCommand): Promise<void> {
  await publishToStream(s.bus, "command", c, { params: { run: s.run, target: "tolaria" } });
}

async function stored<T>(s: ActorStage, stream: StreamKey, read: (data: Uint8Array) => T): Promise<T[]> {
  const jsm = await jetStreamManagerOf(s.bus);
  const name = streamName(s.ns, stream);
  const info = await jsm.streams.info(name);
  const out: T[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await jsm.streams.getMessage(name, { seq });
    if (m !== null) out.push(read(m.data));
  }
  return out;
}

/** Test helper: the EmergencySignals stored on the stage's emergency stream, in order. */
export function storedSignals(s: ActorStage): Promise<EmergencySignal[]> {
  return stored(s, "emergencySignals", (d) => decode("EmergencySignal", d));
}

/** Test helper: the SystemStatePackets stored on the stage's state history stream, in order. */
export function storedStatePackets(s: ActorStage): Promise<SystemStatePacket[]> {
  return stored(s, "stateHistory", (d) => decode("SystemStatePacket", d));
}

/** Test helper: `job`'s parameters and optimizer state digest at `steps`, trained in this process (no actor). */
export async function referenceDigest(job: JobPreset, steps: number): Promise<string> {
  const t = new Trainer({
    preset: job,
    data: await loadPresetData(job),
    trainingRunId: "reference",
    fetchKernel: async () => {
      throw new Error("no kernels in the reference run");
    },
    reportEverySteps: 1_000_000,
    intraOpNumThreads: 1,
    now: Date.now,
    pcgrad: false,
  });
  try {
    while (t.globalStep < steps) await t.step();
    return trainingDigest(t.snapshot().training);
  } finally {
    await t.release();
  }
}
