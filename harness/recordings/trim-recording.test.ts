import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { readRecording } from "../../bus/recording/reader.ts";
import { SPIRALS_RECORDING } from "./tamiyo-replay.ts";
import { trimRecording } from "./trim-recording.ts";

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

describe("trimRecording", () => {
  it("keeps exactly the frames matching a filter, in order and byte for byte", async () => {
    const dir = await mkdtemp(join(tmpdir(), "esper-trim-"));
    dirs.push(dir);
    const out = join(dir, "decisions.esperrec");
    const summary = await trimRecording(SPIRALS_RECORDING, out, ["esper.decision.>"]);
    const source = await readRecording(SPIRALS_RECORDING);
    const trimmed = await readRecording(out);
    const expected = source.frames.filter((f) => f.subject.startsWith("esper.decision."));
    expect(expected.length).toBeGreaterThan(0);
    expect(summary.frames).toBe(expected.length);
    expect(trimmed.frames.map((f) => [f.subject, Buffer.from(f.payload).toString("hex")])).toEqual(
      expected.map((f) => [f.subject, Buffer.from(f.payload).toString("hex")]),
    );
    expect(trimmed.header.subjects).toEqual(["esper.decision.>"]);
  });

  it("refuses no filter, a malformed filter and an existing output", async () => {
    const dir = await mkdtemp(join(tmpdir(), "esper-trim-"));
    dirs.push(dir);
    await expect(trimRecording(SPIRALS_RECORDING, join(dir, "a"), [])).rejects.toThrow(/at least one/);
    await expect(trimRecording(SPIRALS_RECORDING, join(dir, "b"), ["esper.>.x"])).rejects.toThrow();
    await trimRecording(SPIRALS_RECORDING, join(dir, "c"), ["esper.command.>"]);
    await expect(trimRecording(SPIRALS_RECORDING, join(dir, "c"), ["esper.command.>"])).rejects.toThrow(
      /already exists/,
    );
  });
});
