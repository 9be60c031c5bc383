import { join } from "node:path";
import { expect } from "vitest";
import { type EsperProcess, startEsper } from "../../../test/esper-process.ts";
import { EMBEDDED_ACTORS } from "../embedded-run.ts";
import type { RunEvent } from "../run-events.ts";

/** `esper up` on the long job, its run events collected from `--json`, ready once Tolaria is. */
export async function startUpStack(
  natsUrl: string,
  dir: string,
  key: string,
  name: string,
): Promise<{ up: EsperProcess; pids: () => number[] }> {
  const events: RunEvent[] = [];
  const up = startEsper(
    ["up", "--nats", natsUrl, "--job", "spirals-soak", "--run-dir", join(dir, name), "--json"],
    { ESPER_NAMESPACE: name, ESPER_RUN_ID: `run-${name}`, ESPER_SIGNING_KEY: key },
    55_000,
  );
  await up.waitForLine((line) => {
    events.push(JSON.parse(line) as RunEvent);
    return line.includes('"state":"ready"') && line.includes('"actor":"tolaria"');
  });
  const pids = () =>
    events.flatMap((e) =>
      e.kind === "actor" && e.state === "spawned" ? [Number(e.detail.replace("pid ", ""))] : [],
    );
  expect(pids()).toHaveLength(EMBEDDED_ACTORS.length);
  return { up, pids };
}
