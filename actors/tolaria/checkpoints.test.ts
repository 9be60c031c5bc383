import { mkdtemp, readdir, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import type { KernelRef } from "../../contracts/messages/seed.ts";
import { buildBlueprint } from "../../nn/blueprints/artifact.ts";
import { loadPresetData, type PresetData } from "../../nn/presets/preset-run.ts";
import { spiralsGrowthPreset as preset } from "../../nn/presets/spirals-growth.ts";
import { CheckpointStore, CorruptCheckpointError } from "./checkpoints.ts";
import { graftDirective } from "./directive-fixture.ts";
import { Trainer } from "./trainer.ts";

const artifact = buildBlueprint(preset.blueprint, 0);
const kernel: KernelRef = {
  blueprintId: artifact.descriptor.blueprintId,
  artifactRef: artifact.descriptor.artifactSha256,
  checksum: artifact.descriptor.artifactSha256,
};
let data: PresetData;
beforeAll(async () => {
  data = await loadPresetData(preset);
});
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});

async function setup() {
  const dir = await mkdtemp(join(tmpdir(), "tolaria-ckpt-"));
  const trainer = new Trainer({
    preset,
    data,
    trainingRunId: "run-1",
    fetchKernel: async () => artifact.bytes,
    reportEverySteps: 1000,
    intraOpNumThreads: 1,
    pcgrad: false,
    now: () => 1_700_000_000_000,
  });
  cleanup.push(async () => {
    await trainer.release();
    await rm(dir, { recursive: true, force: true });
  });
  trainer.enqueue(graftDirective("s1-g0", 0, kernel));
  for (let i = 0; i < 3; i++) await trainer.step();
  return { dir, trainer, store: await CheckpointStore.open(dir, KEEP) };
}

const KEEP = 3;

describe("CheckpointStore", () => {
  it("keeps the newest `keep` checkpoints: older ones leave the manifest and the directory", async () => {
    const { dir, trainer, store } = await setup();
    for (let epoch = 0; epoch < KEEP + 2; epoch++) {
      await store.write(trainer.snapshot(), epoch, epoch);
      await trainer.step();
    }
    expect(store.entries.map((e) => e.step)).toEqual([5, 6, 7]);
    expect(await readdir(dir)).toEqual([
      "ckpt-step-00000005.bin",
      "ckpt-step-00000006.bin",
      "ckpt-step-00000007.bin",
      "manifest.json",
    ]);
    const reopened = await CheckpointStore.open(dir, KEEP);
    expect(reopened.entries.map((e) => e.step)).toEqual([5, 6, 7]);
  });

  it("refuses a keep below 1", async () => {
    await expect(CheckpointStore.open(tmpdir(), 0)).rejects.toThrow(/keep must be an integer >= 1, got 0/);
  });

  it("writes a checkpoint atomically with its sha256 and loads it back into a trainer bit for bit", async () => {
    const { dir, trainer, store } = await setup();
    const entry = await store.write(trainer.snapshot(), 0, 1);
    expect(await readdir(dir)).toEqual(["ckpt-step-00000003.bin", "manifest.json"]);
    const manifest = JSON.parse(await readFile(join(dir, "manifest.json"), "utf8"));
    expect(manifest).toEqual({ version: 1, checkpoints: [entry] });
    const next = [(await trainer.step()).loss, (await trainer.step()).loss];
    const reopened = await CheckpointStore.open(dir, KEEP);
    const { snapshot } = await reopened.load();
    trainer.restore(snapshot);
    expect(trainer.globalStep).toBe(3);
    expect(trainer.seeds().map((e) => e.seed.seedId)).toEqual(["s1-g0"]);
    expect([(await trainer.step()).loss, (await trainer.step()).loss]).toEqual(next);
  });

  it("detects a corrupted or truncated checkpoint and loads nothing", async () => {
    const { dir, trainer, store } = await setup();
    const entry = await store.write(trainer.snapshot(), 0, 1);
    const file = join(dir, entry.file);
    const bytes = await readFile(file);
    const mid = Math.floor(bytes.length / 2);
    bytes[mid] = (bytes[mid] ?? 0) ^ 0xff;
    await writeFile(file, bytes);
    await expect(store.load()).rejects.toThrow(CorruptCheckpointError);
    await expect(store.load()).rejects.toThrow(/sha256 [0-9a-f]{64}, the manifest says/);
    await truncate(file, 100);
    await expect(store.load()).rejects.toThrow(`100 bytes, the manifest says ${entry.bytes}`);
  });

  it("names the field of a bad manifest", async () => {
    const { dir } = await setup();
    await writeFile(join(dir, "manifest.json"), JSON.stringify({ version: 1, checkpoints: [{ id: "x" }] }));
    await expect(CheckpointStore.open(dir, KEEP)).rejects.toThrow(/manifest\.json: checkpoints\.0\.id/);
  });
});
