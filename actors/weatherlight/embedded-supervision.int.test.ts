import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectBus } from "../../bus/connection.ts";
import { jetStreamManagerOf } from "../../bus/jetstream/context.ts";
import { streamName } from "../../bus/jetstream/declarations.ts";
import { decode } from "../../contracts/codec.ts";
import { CommandType, EmergencyLevel } from "../../contracts/enums.ts";
import { checkSignature } from "../../contracts/signing.ts";
import { subjectFor } from "../../contracts/subjects.ts";
import { useNatsServer } from "../../test/bus-fixture.ts";
import { until } from "../../test/until.ts";
import { ActorExitCode } from "../runtime/exit-codes.ts";
import { actorCommand } from "./child-processes.ts";
import { EMBEDDED_ACTORS } from "./embedded-run.ts";
import { actorState, type EmbeddedStack, startEmbeddedStack } from "./testing/embedded-stack.ts";
import { isAlive } from "./testing/process-alive.ts";

const fixture = useNatsServer();
const KEY = "supervision-test-signing-key-0123";
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "wl-supervision-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Short drains, so a child that does not react to a command costs seconds, not a minute. */
const quickSettings = (intensity: number) => ({
  worker: { shutdownGraceMs: 1_000 },
  supervisor: {
    restartIntensity: intensity,
    restartPeriodMs: 60_000,
    backoffBaseMs: 50,
    shutdownGraceMs: 20_000,
  },
});

function stack(
  name: string,
  intensity: number,
  job: string,
  childCommand?: (actor: string) => ReturnType<typeof actorCommand>,
) {
  return startEmbeddedStack({
    job,
    natsUrl: fixture.server.url,
    namespace: name,
    runId: `run-${name}`,
    runDir: join(dir, name),
    signingKey: KEY,
    settings: quickSettings(intensity),
    ...(childCommand !== undefined ? { childCommand } : {}),
  });
}

/** The commands stored for run `runId`'s target `target`, decoded. */
async function storedCommands(ns: string, runId: string, target: string) {
  const bus = await connectBus({ ...fixture.server.address, name: "probe", namespace: ns });
  try {
    const jsm = await jetStreamManagerOf(bus);
    const subject = subjectFor(ns, "command", { run: runId, target });
    const info = await jsm.streams.info(streamName(ns, "commands"), { subjects_filter: subject });
    const count = info.state.subjects?.[subject] ?? 0;
    if (count === 0) return [];
    const last = await jsm.streams.getMessage(streamName(ns, "commands"), { last_by_subj: subject });
    if (last === null) throw new Error(`no last message on ${subject}`);
    return [{ count, command: decode("AdaptationCommand", last.data) }];
  } finally {
    await bus.close();
  }
}

async function everyChildGone(s: EmbeddedStack): Promise<void> {
  const pids = EMBEDDED_ACTORS.flatMap((a) => s.pids(a));
  await until(() => pids.every((p) => !isAlive(p)), "every child to be gone", 10_000);
}

describe("embedded supervision with real actor processes", { timeout: 60_000 }, () => {
  it("an actor that keeps dying trips the restart intensity: degraded, HALT sent to Tolaria, run failed, nothing left running", async () => {
    const s = stack("wlhalt", 1, "spirals-soak");
    try {
      await s.waitFor(actorState("tolaria", "ready"), "tolaria ready", 40_000);
      const [first] = s.pids("kasmina");
      process.kill(first ?? 0, "SIGKILL");
      await s.waitFor(actorState("kasmina", "restarted"), "kasmina restarted");
      const second = s.pids("kasmina")[1];
      process.kill(second ?? 0, "SIGKILL");
      const result = await s.result;
      expect(result.outcome).toBe("failed");
      expect(result.reason).toMatch(
        /^degraded: restart intensity exceeded: 1 restarts within 60000 ms, then kasmina was killed by SIGKILL; tolaria /,
      );
      expect(result.reason).toMatch(/HALT command halt-/);
      expect(await s.done).toBe(ActorExitCode.gaveUp);
      expect(s.pids("kasmina")).toHaveLength(2);
      expect(s.events.filter(actorState("kasmina", "degraded"))).toHaveLength(1);
      const [halt] = await storedCommands("wlhalt", "run-wlhalt", "tolaria");
      expect(halt?.count).toBe(1);
      expect(halt?.command).toMatchObject({
        commandType: CommandType.EMERGENCY,
        trainingRunId: "run-wlhalt",
        issuedBy: "weatherlight",
        payload: { kind: "emergency", level: EmergencyLevel.HALT },
      });
      expect(halt?.command.payload).toMatchObject({
        reason: expect.stringContaining("restart intensity exceeded"),
      });
      expect(result.reason).toContain(halt?.command.commandId);
      expect(checkSignature("AdaptationCommand", halt?.command ?? ({} as never), KEY)).toBe("ok");
      await everyChildGone(s);
      expect(result.summary.outcome).toBe("failed");
    } finally {
      await s.stop();
    }
  });

  it("a permanent failure (a restarted Kasmina without ESPER_SIGNING_KEY, exit 5) is not restarted and ends the run with its reason", async () => {
    // The first Kasmina has its key; the wrapper drops it from every later spawn.
    const marker = join(dir, "kasmina-started-once");
    const keyless = (actor: string) => {
      const real = actorCommand(actor);
      if (actor !== "kasmina") return real;
      const script = `if [ -e '${marker}' ]; then unset ESPER_SIGNING_KEY; fi; : > '${marker}'; exec "$0" "$@"`;
      return { file: "/bin/sh", args: ["-c", script, real.file, ...real.args] };
    };
    const s = stack("wlperm", 5, "spirals-growth", keyless);
    try {
      await s.waitFor(actorState("tolaria", "ready"), "tolaria ready", 40_000);
      process.kill(s.pids("kasmina")[0] ?? 0, "SIGKILL");
      const result = await s.result;
      const permanent = "kasmina exited with code 5 (preflightFailed): a permanent failure, not restarted";
      expect(result).toMatchObject({ outcome: "failed", reason: permanent });
      expect(await s.done).toBe(ActorExitCode.gaveUp);
      expect(s.events.filter(actorState("kasmina", "gave-up"))).toEqual([
        expect.objectContaining({ detail: permanent }),
      ]);
      expect(s.pids("kasmina")).toHaveLength(2);
      expect(s.events.filter(actorState("kasmina", "restarting"))).toHaveLength(1);
      expect(await storedCommands("wlperm", "run-wlperm", "tolaria")).toEqual([]);
      await everyChildGone(s);
    } finally {
      await s.stop();
    }
  });
});
