import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import { parseArgs } from "node:util";
import { jobApprovals } from "../../actors/tamiyo/job-approvals.ts";
import { fitPolicy, type RecordedRun } from "../../actors/tamiyo/policy-fit.ts";
import { sha256Of, writePolicyDirectory } from "../../actors/tamiyo/policy-manifest.ts";
import { ruleSetOf } from "../../actors/tamiyo/settings.ts";
import { buildLibrary, libraryConfigs } from "../../actors/urza/library.ts";
import { readRecording } from "../../bus/recording/reader.ts";
import { decode } from "../../contracts/codec.ts";
import type { SystemStatePacket } from "../../contracts/index.ts";
import { WorkerSettings } from "../../contracts/messages/worker-settings.ts";

const HELP = `usage: esper policy fit --recording FILE [--recording FILE ...] --out DIR [--seed N]
Fits Tamiyo's ONNX policy: reads the tamiyo.evaluate requests (SystemStatePackets) of each recording,
labels them with the rule policy as teacher (replayed in order, with its run memory), adds augmented
states around the plateau, slot and catalog boundaries (each labelled by the teacher), fits the MLP with
nn/ (seed N, default 1) and writes DIR/model.onnx and DIR/manifest.json (version, sha256 of the model,
the recordings' sha256s, seed, agreement with the teacher on held-out states and on the recording).
The same recordings and seed give the same model bytes. Prints the manifest as JSON.`;

/** Subject suffix of the evaluate requests in a recording. */
const EVALUATE_SUFFIX = ".tamiyo.evaluate";

/** Creation time of the catalog descriptors (not part of any feature). */
const CATALOG_CREATED_AT = 1_700_000_000_000;

/** `esper policy fit`: fits the policy from recordings and writes its directory. */
export async function run(args: readonly string[]): Promise<number> {
  let files: string[];
  let out: string;
  let seed: number;
  try {
    const { values } = parseArgs({
      args: [...args],
      options: {
        recording: { type: "string", multiple: true },
        out: { type: "string" },
        seed: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    });
    if (values.help) {
      process.stdout.write(`${HELP}\n`);
      return 0;
    }
    if (values.recording === undefined || values.recording.length === 0)
      throw new Error("--recording is required");
    if (values.out === undefined) throw new Error("--out is required");
    files = values.recording;
    out = values.out;
    seed = values.seed === undefined ? 1 : Number(values.seed);
    if (!Number.isInteger(seed) || seed < 0)
      throw new Error(`--seed must be an integer >= 0, got '${values.seed}'`);
  } catch (error) {
    process.stderr.write(`esper policy fit: ${(error as Error).message}\n${HELP}\n`);
    return 2;
  }
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
