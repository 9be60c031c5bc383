import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { jobApprovals } from "../../actors/tamiyo/job-approvals.ts";
import { createOnnxPolicy } from "../../actors/tamiyo/onnx-policy.ts";
import { fitPolicy } from "../../actors/tamiyo/policy-fit.ts";
import { readPolicyDirectory, sha256Of } from "../../actors/tamiyo/policy-manifest.ts";
import { loadPolicyDirectory } from "../../actors/tamiyo/policy-swap.ts";
import { emptyRunMemory, observePacket, recordGermination } from "../../actors/tamiyo/run-memory.ts";
import { ruleSetOf, SHIPPED_POLICY_DIR } from "../../actors/tamiyo/settings.ts";
import { buildLibrary, libraryConfigs } from "../../actors/urza/library.ts";
import { readRecording } from "../../bus/recording/reader.ts";
import { decode } from "../../contracts/codec.ts";
import { WorkerSettings } from "../../contracts/messages/worker-settings.ts";
import { recordedRuns } from "./policy-fit.ts";

const RECORDING = fileURLToPath(new URL("../../harness/recordings/spirals-growth.esperrec", import.meta.url));
const rules = ruleSetOf(WorkerSettings.parse({}));
const catalog = buildLibrary(libraryConfigs(), 1_700_000_000_000).map((e) => e.descriptor);

async function smallFit(seed: number) {
  const runs = await recordedRuns(RECORDING);
  return fitPolicy({
    runs,
    recordings: [{ file: "spirals-growth.esperrec", sha256: sha256Of(await readFile(RECORDING)) }],
    catalog,
    approvals: (e) => jobApprovals(e),
    rules,
    seed,
    sizes: { augmented: 300, heldOut: 100, epochs: 2, batch: 64 },
  });
}

describe("esper policy fit", () => {
  it("reads the 120 evaluate requests of the repo recording as one run, in order", async () => {
    const runs = await recordedRuns(RECORDING);
    expect(runs).toHaveLength(1);
    expect(runs[0]?.packets.map((p) => p.currentEpoch)).toEqual(Array.from({ length: 120 }, (_, i) => i));
  });

  it("gives the same model bytes and manifest for the same inputs, and another model for another seed", async () => {
    const a = await smallFit(7);
    const b = await smallFit(7);
    expect(b.manifest.sha256).toBe(a.manifest.sha256);
    expect(sha256Of(b.bytes)).toBe(a.manifest.sha256);
    expect(b.manifest).toEqual(a.manifest);
    expect((await smallFit(8)).manifest.sha256).not.toBe(a.manifest.sha256);
  }, 120_000);

  it("the shipped policy was fitted on the repo recording and agrees with its teacher on ≥ 95% of held-out decisions", async () => {
    const { manifest } = await readPolicyDirectory(SHIPPED_POLICY_DIR);
    expect(manifest.recordings).toEqual([
      { file: "spirals-growth.esperrec", sha256: sha256Of(await readFile(RECORDING)) },
    ]);
    expect(manifest.agreement.heldOut.agreement).toBeGreaterThanOrEqual(0.95);
    expect(manifest.agreement.heldOut.byKind.germinate?.agreement).toBeGreaterThanOrEqual(0.95);
    expect(manifest.agreement.recording.byKind.germinate).toMatchObject({ decisions: 1, agreed: 1 });
  });

  it("the shipped policy reproduces every recorded decision's outcome, the germination included", async () => {
    const { frames } = await readRecording(RECORDING);
    const recorded = new Map<string, string>();
    for (const f of frames) {
      if (!f.subject.includes(".decision.")) continue;
      const d = decode("TamiyoDecision", f.payload);
      recorded.set(
        d.packetId,
        d.outcome === "command" && d.command.payload.kind === "seed"
          ? `germinate ${d.command.targetSeedId} ${d.command.payload.blueprintId}`
          : `${d.outcome === "noAction" ? d.reason.split(":")[0] : "other"}`,
      );
    }
    const model = await loadPolicyDirectory(SHIPPED_POLICY_DIR);
    try {
      const policy = createOnnxPolicy(model, {
        plateau: rules.plateau,
        schedule: rules.blend.schedule,
        deadlineMs: 1_000,
        now: () => 0,
      });
      const [run] = await recordedRuns(RECORDING);
      if (run === undefined) throw new Error("no run in the recording");
      let memory = emptyRunMemory(run.trainingRunId);
      const mismatches: string[] = [];
      for (const packet of run.packets) {
        memory = observePacket(memory, packet);
        const a = await policy.decide({
          packet,
          catalog,
          approved: jobApprovals(packet.experimentName),
          memory,
        });
        const mine = a.kind === "germinate" ? `germinate ${a.seedId} ${a.blueprintId}` : a.reason;
        if (mine !== recorded.get(packet.packetId))
          mismatches.push(`epoch ${packet.currentEpoch}: ${mine} vs ${recorded.get(packet.packetId)}`);
        if (a.kind === "germinate")
          memory = recordGermination(memory, {
            epoch: packet.currentEpoch,
            seedId: a.seedId,
            blueprintId: a.blueprintId,
          });
      }
      expect(mismatches).toEqual([]);
      expect([...recorded.values()].filter((d) => d.startsWith("germinate"))).toHaveLength(1);
    } finally {
      await model.session.release();
    }
  });
});
