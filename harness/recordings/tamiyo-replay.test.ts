import { describe, expect, it } from "vitest";
import { readRecording } from "../../bus/recording/reader.ts";
import { decode } from "../../contracts/index.ts";
import { describeDifferences, goldenDifferences, readGolden } from "./golden-file.ts";
import {
  REGENERATE_GOLDEN_COMMAND,
  type ReplayedDecision,
  replayTamiyo,
  SPIRALS_RECORDING,
  SPIRALS_TAMIYO_GOLDEN,
} from "./tamiyo-replay.ts";

const replayed = await replayTamiyo(SPIRALS_RECORDING);
const golden = await readGolden(SPIRALS_TAMIYO_GOLDEN);
const hex = (ds: readonly ReplayedDecision[]) => ds.map((d) => Buffer.from(d.bytes).toString("hex"));

describe("Tamiyo replay of spirals-growth.esperrec (120 recorded evaluate requests)", () => {
  it("gives byte-identical replies to the golden file", () => {
    const differences = goldenDifferences(golden, replayed);
    // On failure the message names each changed decision (index, packet id) and the regenerate command.
    expect(differences, describeDifferences(differences, SPIRALS_TAMIYO_GOLDEN, REGENERATE_GOLDEN_COMMAND)).toEqual(
      [],
    );
    expect(replayed).toHaveLength(120);
  });

  it("gives the same bytes on every run (injected clock and seeded ids)", async () => {
    expect(hex(await replayTamiyo(SPIRALS_RECORDING))).toEqual(hex(replayed));
  });

  it("germinates where the recorded run did: same request, seed and blueprint", async () => {
    const { frames } = await readRecording(SPIRALS_RECORDING);
    const recorded: string[] = [];
    let requests = 0;
    for (const f of frames) {
      if (f.subject.endsWith(".tamiyo.evaluate")) requests++;
      else if (f.subject.endsWith(".kasmina")) {
        const c = decode("AdaptationCommand", f.payload);
        if (c.payload.kind !== "seed") throw new Error(`recorded command ${c.commandId} is not a seed command`);
        recorded.push(`${requests - 1}: germinate ${c.payload.blueprintId} on ${c.targetSeedId}`);
      }
    }
    const germinations = golden.filter((d) => d.summary.startsWith("germinate"));
    expect(recorded).toEqual(["3: germinate wide-single-layer-i4-h64-s1 on s1-g0"]);
    expect(germinations.map((d) => `${d.index}: ${d.summary}`)).toEqual(recorded);
  });

  it("names the decision that changed (index, packet id) and the one command that regenerates the file", () => {
    const tampered = replayed.map((d) =>
      d.index === 3 ? { ...d, bytes: d.bytes.map((b, i) => (i === d.bytes.length - 1 ? b ^ 1 : b)) } : d,
    );
    const differences = goldenDifferences(golden, tampered);
    const packetId = golden[3]?.packetId ?? "";
    expect(packetId).toMatch(/-epoch-3$/);
    expect(differences).toEqual([
      {
        index: 3,
        packetId,
        golden: golden[3]?.summary,
        replayed: replayed[3]?.summary,
      },
    ]);
    expect(goldenDifferences(golden, replayed.slice(0, 119))).toMatchObject([
      { index: 119, replayed: "(no replayed decision)" },
    ]);
    const message = describeDifferences(differences, "golden.jsonl", REGENERATE_GOLDEN_COMMAND);
    expect(message).toContain(`decision 3 (packet ${packetId}) changed`);
    expect(message).toMatch(/regenerate the golden file with: node bin\/esper\.js golden tamiyo --update$/);
  });
});
