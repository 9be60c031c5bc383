import { readFile, writeFile } from "node:fs/promises";
import { z } from "zod";
import type { ReplayedDecision } from "./tamiyo-replay.ts";

const GoldenLine = z.strictObject({
  index: z.number().int().min(0),
  packetId: z.string().min(1),
  summary: z.string().min(1),
  /** The encoded reply, base64. */
  bytes: z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/),
});

/** Writes the golden file: one JSON line per decision (index, packet id, summary, base64 bytes). */
export async function writeGolden(file: string, decisions: readonly ReplayedDecision[]): Promise<void> {
  const lines = decisions.map((d) =>
    JSON.stringify({
      index: d.index,
      packetId: d.packetId,
      summary: d.summary,
      bytes: Buffer.from(d.bytes).toString("base64"),
    }),
  );
  await writeFile(file, `${lines.join("\n")}\n`);
}

/** Reads a golden file; a malformed line is an error naming the file and the line. */
export async function readGolden(file: string): Promise<ReplayedDecision[]> {
  const text = await readFile(file, "utf8");
  return text
    .split("\n")
    .filter((line) => line.length > 0)
    .map((line, n) => {
      const parsed = GoldenLine.safeParse(JSON.parse(line));
      if (!parsed.success) throw new Error(`${file}:${n + 1}: not a golden decision: ${parsed.error.message}`);
      const { bytes, ...rest } = parsed.data;
      return { ...rest, bytes: new Uint8Array(Buffer.from(bytes, "base64")) };
    });
}

/** Where a replay departs from its golden file. */
export interface GoldenDifference {
  readonly index: number;
  readonly packetId: string;
  readonly golden: string;
  readonly replayed: string;
}

/**
 * The decisions whose bytes differ (by index), then a missing or extra decision at the end. Each names
 * the decision's index, its packet id and both summaries (equal summaries: the bytes differ elsewhere,
 * e.g. in a field of the risk block or the signed command).
 */
export function goldenDifferences(
  golden: readonly ReplayedDecision[],
  replayed: readonly ReplayedDecision[],
): GoldenDifference[] {
  const out: GoldenDifference[] = [];
  for (let i = 0; i < Math.max(golden.length, replayed.length); i++) {
    const g = golden[i];
    const r = replayed[i];
    if (g !== undefined && r !== undefined && Buffer.from(g.bytes).equals(Buffer.from(r.bytes))) continue;
    out.push({
      index: i,
      packetId: r?.packetId ?? g?.packetId ?? "?",
      golden: g?.summary ?? "(no golden decision)",
      replayed: r?.summary ?? "(no replayed decision)",
    });
  }
  return out;
}

/**
 * A report of the differences: the count, how many changed their outcome (summary), the first few
 * decisions (those whose outcome changed first), and the command that regenerates the file.
 */
export function describeDifferences(
  differences: readonly GoldenDifference[],
  file: string,
  regenerate: string,
): string {
  const changed = differences.filter((d) => d.golden !== d.replayed);
  const ordered = [...changed, ...differences.filter((d) => d.golden === d.replayed)];
  const shown = ordered
    .slice(0, 5)
    .map((d) => `decision ${d.index} (packet ${d.packetId}) changed: golden '${d.golden}', replayed '${d.replayed}'`);
  const more = differences.length > shown.length ? [`... and ${differences.length - shown.length} more`] : [];
  return [
    `${differences.length} decision(s) differ from ${file} (${changed.length} with another outcome, the rest in their bytes only):`,
    ...shown,
    ...more,
    `If the policy, features or risk engine changed on purpose, regenerate the golden file with: ${regenerate}`,
  ].join("\n");
}
