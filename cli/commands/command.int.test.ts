import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RunSummary } from "../../actors/weatherlight/summary-schema.ts";
import { HealthSnapshot } from "../../actors/weatherlight/system-health-schema.ts";
import { type EsperProcess, runEsper, startEsper } from "../../test/esper-process.ts";

const RUN = "run-cmd";
const NAMESPACE = "cmdint";
const KEY = "command-test-signing-key-0123456789";
const OPERATOR_PASS = "command-test-operator-password";
/** The blueprint Tamiyo germinates in slot s1 of the default job. */
const BLUEPRINT = "wide-single-layer-i4-h64-s1";

let dir: string;
let up: EsperProcess | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "esper-command-"));
});
afterAll(async () => {
  // A SIGKILLed `esper up` cannot stop its nats-server (own process group): stop it here.
  const serverPid = /nats-server \S+ \(pid (\d+)/.exec(up?.stderrSoFar() ?? "")?.[1];
  await up?.kill();
  if (serverPid !== undefined) {
    try {
      process.kill(Number(serverPid), "SIGTERM");
    } catch {
      // Already stopped by esper up itself.
    }
  }
  await rm(dir, { recursive: true, force: true });
});

interface Published {
  commandId: string;
  subject: string;
  duplicate: boolean;
  outcome?: { status: string; reason?: string; detail?: string; evidence?: string } | null;
}

async function command(
  url: string,
  args: readonly string[],
  key = KEY,
): Promise<{ code: number | null; out: Published | undefined; stderr: string }> {
  const r = await runEsper(
    ["command", "--run", RUN, "--json", ...args],
    {
      ESPER_NATS_URL: url,
      ESPER_NAMESPACE: NAMESPACE,
      ESPER_NATS_USER: "operator",
      ESPER_NATS_PASS: OPERATOR_PASS,
      ESPER_SIGNING_KEY: key,
    },
    60_000,
  );
  const line = r.stdout.trim().split("\n").at(-1);
  return { code: r.code, out: line ? (JSON.parse(line) as Published) : undefined, stderr: r.stderr };
}

/** The first match of `pattern` on what `esper up` wrote to stderr (polled, 60 s at most). */
async function saidByUp(p: EsperProcess, pattern: RegExp, what: string): Promise<string> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const said = pattern.exec(p.stderrSoFar())?.[1];
    if (said !== undefined) return said;
    if (Date.now() > deadline) throw new Error(`esper up named no ${what} within 60 s:\n${p.stderrSoFar()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The URL of the private nats-server `esper up` says it started. */
const serverUrl = (p: EsperProcess): Promise<string> =>
  saidByUp(p, /nats-server (nats:\/\/\S+)/, "nats-server");

/** `esper status --json` until its snapshot lists the rejection of `commandId` (10 s at most). */
async function statusRejection(healthUrl: string, commandId: string) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const r = await runEsper(["status", "--url", healthUrl, "--json"], {}, 30_000);
    const snapshot = HealthSnapshot.parse(JSON.parse(r.stdout));
    const found = snapshot.commandRejections.recent.find((c) => c.commandId === commandId);
    if (found !== undefined) return { snapshot, found };
    if (Date.now() > deadline)
      throw new Error(`esper status lists no rejection of ${commandId}: ${r.stdout}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe("esper command against esper up (own nats-server with per-actor users)", {
  timeout: 300_000,
}, () => {
  it("a germinate is applied once though published twice; a forged cull is rejected with its reason, shown by esper status", async () => {
    up = startEsper(
      ["up", "--run-dir", join(dir, RUN), "--json"],
      {
        ESPER_NAMESPACE: NAMESPACE,
        ESPER_RUN_ID: RUN,
        ESPER_SIGNING_KEY: KEY,
        ESPER_NATS_PASS_OPERATOR: OPERATOR_PASS,
      },
      240_000,
    );
    // As soon as the server runs: the command's store is retried until Weatherlight has declared the
    // streams, Kasmina's run consumer replays what came before it, and Tamiyo (started after Kasmina)
    // has not decided yet.
    const natsUrl = await serverUrl(up);
    const germinate = ["--germinate", "s1-g0", "--blueprint", BLUEPRINT, "--id", "op-germinate"];
    const first = await command(natsUrl, [...germinate, "--wait"]);
    expect(first.stderr, up.stderrSoFar()).toBe("");
    expect(first.code).toBe(0);
    expect(first.out).toMatchObject({
      commandId: "op-germinate",
      subject: `${NAMESPACE}.command.${RUN}.kasmina`,
      duplicate: false,
      outcome: { status: "applied" },
    });
    const again = await command(natsUrl, germinate);
    expect(again.code).toBe(0);
    expect(again.out).toMatchObject({ commandId: "op-germinate", duplicate: true });

    const forged = await command(
      natsUrl,
      ["--cull", "s1-g0", "--id", "op-forged", "--wait"],
      "not-the-stack-key-0123456789",
    );
    expect(forged.code).toBe(1);
    expect(forged.out?.outcome).toMatchObject({ status: "rejected", reason: "invalid_signature" });
    const healthUrl = await saidByUp(up, /health (http:\/\/\S+)\/healthz/, "health endpoint");
    const shown = await statusRejection(healthUrl, "op-forged");
    expect(shown.found).toMatchObject({
      actor: "kasmina",
      eventId: "kasmina.command.rejected",
      reason: "invalid_signature",
    });
    expect(shown.snapshot.commandRejections.total).toBeGreaterThanOrEqual(1);

    const ended = await up.result;
    expect(ended.stderr).toContain("run completed: job complete");
    expect(ended.code).toBe(0);
    const summary = RunSummary.parse(JSON.parse(await readFile(join(dir, RUN, "summary.json"), "utf8")));
    const mine = summary.commands.list.filter((c) => c.commandId.startsWith("op-"));
    expect(mine.map((c) => [c.commandId, c.status])).toEqual([
      ["op-germinate", "applied"],
      ["op-forged", "rejected"],
    ]);
    expect(summary.commands.rejections).toContainEqual(
      expect.objectContaining({ commandId: "op-forged", reason: "invalid_signature" }),
    );
    const seed = summary.seeds.find((s) => s.seedId === "s1-g0");
    expect(seed?.timeline[0]?.reason).toContain("command op-germinate");
    const telemetry = await readFile(join(dir, RUN, "telemetry.jsonl"), "utf8");
    const rejected = telemetry
      .trim()
      .split("\n")
      .flatMap(
        (l) =>
          (JSON.parse(l) as { events: { eventId: string; attributes?: Record<string, string> }[] }).events,
      )
      .filter((e) => e.eventId === "kasmina.command.rejected" && e.attributes?.commandId === "op-forged");
    expect(rejected).toHaveLength(1);
    expect(rejected[0]?.attributes?.reason).toBe("invalid_signature");
  });
});
