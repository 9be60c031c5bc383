/**
 * Weatherlight's restart intensity exceeded: it stores a signed HALT on `command.<run>.tolaria`, Tolaria
 * writes its final checkpoint into ESPER_TOLARIA_CHECKPOINT_DIR and exits 0.
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useNatsServer } from "../../test/bus-fixture.ts";
import { until } from "../../test/until.ts";
import { TOLARIA_CHECKPOINT_SUBDIR } from "./embedded-run.ts";
import { actorState, startEmbeddedStack } from "./testing/embedded-stack.ts";
import { isAlive } from "./testing/process-alive.ts";

const fixture = useNatsServer();
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "wl-halt-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("halt on restart intensity", { timeout: 60_000 }, () => {
  it("an actor that keeps dying trips the intensity and the system halts cleanly with a final checkpoint", async () => {
    const runDir = join(dir, "run");
    const s = startEmbeddedStack({
      natsUrl: fixture.server.url,
      namespace: "wlhaltck",
      runId: "run-haltck",
      runDir,
      signingKey: "halt-test-signing-key-0123456789",
      settings: {
        worker: { shutdownGraceMs: 1_000 },
        supervisor: {
          restartIntensity: 1,
          restartPeriodMs: 60_000,
          backoffBaseMs: 50,
          shutdownGraceMs: 20_000,
        },
      },
    });
    try {
      await s.waitFor(actorState("tolaria", "ready"), "tolaria ready", 40_000);
      process.kill(s.pids("kasmina")[0] ?? 0, "SIGKILL");
      await s.waitFor(actorState("kasmina", "restarted"), "kasmina restarted");
      process.kill(s.pids("kasmina")[1] ?? 0, "SIGKILL");
      const result = await s.result;
      expect(result.reason).toMatch(/; tolaria exited after HALT command halt-\S+ \(exit code 0\)$/);
      // Halted mid-job: the job (spirals-soak) has more epochs than ran.
      expect(result.summary.epochs.length).toBeLessThan(3_000);
      const tolaria = s.events.flatMap((e) => (e.kind === "actor" && e.actor === "tolaria" ? [e.state] : []));
      expect(tolaria).toContain("exited");
      expect(tolaria).not.toContain("stopping");
      expect(await readdir(join(runDir, TOLARIA_CHECKPOINT_SUBDIR))).not.toEqual([]);
      const pids = ["urza", "kasmina", "tamiyo", "tolaria"].flatMap((a) => s.pids(a));
      await until(() => pids.every((p) => !isAlive(p)), "every child to be gone", 10_000);
    } finally {
      await s.stop();
    }
  });
});
