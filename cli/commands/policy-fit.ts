import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import type { Command } from "commander";
import { jobApprovals } from "../../actors/tamiyo/job-approvals.ts";
import { fitPolicy, type RecordedRun } from "../../actors/tamiyo/policy-fit.ts";
import { sha256Of, writePolicyDirectory } from "../../actors/tamiyo/policy-manifest.ts";
import { ruleSetOf } from "../../actors/tamiyo/settings.ts";
import { buildLibrary, libraryConfigs } from "../../actors/urza/library.ts";
import { readRecording } from "../../bus/recording/reader.ts";
import { decode } from "../../contracts/codec.ts";
import type { SystemStatePacket } from "../../contracts/index.ts";
import { WorkerSettings } from "../../contracts/messages/worker-settings.ts";
import { helpFooter, integer, repeated } from "../flags.ts";

/** Subject suffix of the evaluate requests in a recording. */
const EVALUATE_SUFFIX = ".tamiyo.evaluate";

/** Creation time of the catalog descriptors (not part of any feature). */
const CATALOG_CREATED_AT = 1_700_000_000_000;

/** `esper policy fit --recording FILE [--recording FILE ...] --out DIR [--seed N]`. */
export function define(cmd: Command): void {
  cmd
    .description(
      "Fits Tamiyo's ONNX policy: reads the tamiyo.evaluate requests (SystemStatePackets) of each recording, " +
        "labels them with the rule policy as teacher (replayed in order, with its run memory), adds augmented " +
        "states around the plateau, slot and catalog boundaries (each labelled by the teacher), fits the MLP " +
        "with nn/ and writes DIR/model.onnx and DIR/manifest.json (version, sha256 of the model, the " +
        "recordings' sha256s, seed, agreement with the teacher on held-out states and on the recording). The " +
        "same recordings and seed give the same model bytes. Prints the manifest as JSON.",
    )
    .requiredOption("--recording <file>", "a recording with tamiyo.evaluate requests (repeatable)", repeated)
    .requiredOption("--out <dir>", "the policy directory to write")
    .option("--seed <n>", "the fit's seed", integer(0), 1);
  helpFooter(cmd, {
    exitCodes: { 0: "written", 1: "no tamiyo.evaluate requests in the recordings", 2: "bad arguments" },
  });
}

/** `esper policy fit`: fits the policy from recordings and writes its directory. */
export async function action(cmd: Command): Promise<number> {
  const { recording: files, out, seed } = cmd.opts<{ recording: string[]; out: string; seed: number }>();
  const runs: RecordedRun[] = [];
  const recordings: { file: string; sha256: string }[] = [];
  for (const file of files) {
    recordings.push({ file: basename(file), sha256: sha256Of(await readFile(file)) });
    runs.push(...(await recordedRuns(file)));
  }
  if (runs.length === 0) {
    process.stderr.write(`esper policy fit: no ${EVALUATE_SUFFIX} requests in ${files.join(", ")}\n`);
    return 1;
  }
  const catalog = buildLibrary(libraryConfigs(), CATALOG_CREATED_AT).map((e) => e.descriptor);
  const policy = await fitPolicy({
    runs,
    recordings,
    catalog,
    approvals: (experiment) => jobApprovals(experiment),
    rules: ruleSetOf(WorkerSettings.parse({})),
    seed,
  });
  await writePolicyDirectory(out, policy);
  process.stdout.write(`${JSON.stringify(policy.manifest, null, 2)}\n`);
  return 0;
}

/** The evaluate requests of a recording, by training run, in recorded order. */
export async function recordedRuns(file: string): Promise<RecordedRun[]> {
  const { frames } = await readRecording(file);
  const byRun = new Map<string, SystemStatePacket[]>();
  for (const frame of frames) {
    if (!frame.subject.endsWith(EVALUATE_SUFFIX)) continue;
    const packet = decode("SystemStatePacket", frame.payload);
    const packets = byRun.get(packet.trainingRunId) ?? [];
    packets.push(packet);
    byRun.set(packet.trainingRunId, packets);
  }
  return [...byRun].map(([trainingRunId, packets]) => ({ trainingRunId, packets }));
}
