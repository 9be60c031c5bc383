import { readRecording } from "../../bus/recording/reader.ts";
import { checkSubjectFilter, subjectMatches } from "../../bus/recording/subject-filter.ts";
import { RecordingWriter, type WriterSummary } from "../../bus/recording/writer.ts";

/**
 * Writes to `dst` the frames of the recording `src` whose subject matches one of `filters` (NATS
 * wildcards), in their order and with their bytes; the header keeps the source's fields, lists the
 * filters as its subjects and names the tool. Makes the small fixtures of this folder from an
 * `esper up` run's `bus.esperrec`. Refuses to overwrite `dst`.
 */
export async function trimRecording(src: string, dst: string, filters: readonly string[]): Promise<WriterSummary> {
  if (filters.length === 0) throw new Error("trim: at least one subject filter is required");
  for (const f of filters) checkSubjectFilter(f, "subject filter");
  const { header, frames } = await readRecording(src);
  const writer = await RecordingWriter.create(dst, {
    namespace: header.namespace,
    subjects: [...filters],
    contractVersion: header.contractVersion,
    tool: `esper recording trim (from ${header.tool})`,
    source: header.source,
  });
  for (const frame of frames) {
    if (filters.some((f) => subjectMatches(f, frame.subject))) writer.append(frame);
  }
  return writer.close();
}
