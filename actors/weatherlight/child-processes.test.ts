import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  ActorChild,
  type ActorChildEnv,
  actorCommand,
  type ChildEvent,
  childEnvironment,
  watchedNodeCommand,
} from "./child-processes.ts";
import { ChildSpawnError } from "./errors.ts";
import { fakeActorCommand } from "./testing/fake-actor-command.ts";

const env: ActorChildEnv = {
  namespace: "wl-test",
  instanceId: "urza-run-7",
  natsServers: ["nats://127.0.0.1:4301", "nats://127.0.0.1:4302"],
  runId: "run-7",
  signingKey: "0123456789abcdef-key",
};

function collect(): { events: ChildEvent[]; onEvent: (e: ChildEvent) => void } {
  const events: ChildEvent[] = [];
  return { events, onEvent: (e) => events.push(e) };
}

const lines = (events: readonly ChildEvent[], actor: string, stream: "stdout" | "stderr") =>
  events.flatMap((e) => (e.type === "output" && e.actor === actor && e.stream === stream ? [e.line] : []));

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // A zombie (exited, not yet reaped by its new parent) counts as gone.
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

describe("childEnvironment", () => {
  it("sets the ESPER_* variables from the spec and drops every inherited ESPER_* variable", () => {
    const out = childEnvironment(
      {
        ...env,
        natsCredentials: { user: "u", pass: "p" },
        logLevel: "debug",
        job: "spirals-growth",
        fashionMnistDir: "/data/fm",
        tamiyoWalDir: "/runs/r/tamiyo",
        tolariaCheckpointDir: "/runs/r/tolaria",
      },
      { PATH: "/bin", ESPER_RUN_ID: "leaked", ESPER_LOG_PRETTY: "1", HOME: "/home/x" },
    );
    expect(out).toEqual({
      PATH: "/bin",
      HOME: "/home/x",
      ESPER_NAMESPACE: "wl-test",
      ESPER_NATS_URL: "nats://127.0.0.1:4301,nats://127.0.0.1:4302",
      ESPER_INSTANCE_ID: "urza-run-7",
      ESPER_RUN_ID: "run-7",
      ESPER_SIGNING_KEY: "0123456789abcdef-key",
      ESPER_NATS_USER: "u",
      ESPER_NATS_PASS: "p",
      ESPER_LOG_LEVEL: "debug",
      ESPER_JOB: "spirals-growth",
      ESPER_FASHION_MNIST_DIR: "/data/fm",
      ESPER_TAMIYO_WAL_DIR: "/runs/r/tamiyo",
      ESPER_TOLARIA_CHECKPOINT_DIR: "/runs/r/tolaria",
    });
  });
});

describe("ActorChild", { timeout: 60_000 }, () => {
  it("gives the child exactly the ESPER_* settings of its spec and reports its output lines by actor", async () => {
    const { events, onEvent } = collect();
    const child = await ActorChild.spawn({ name: "urza", command: fakeActorCommand("urza"), env }, onEvent);
    await waitFor(() => lines(events, "urza", "stdout").includes("ready"));
    await child.stop(10_000);
    const envLine = lines(events, "urza", "stdout").find((l) => l.startsWith("env "));
    expect(JSON.parse(envLine?.slice(4) ?? "null")).toEqual({
      ESPER_NAMESPACE: "wl-test",
      ESPER_NATS_URL: "nats://127.0.0.1:4301,nats://127.0.0.1:4302",
      ESPER_INSTANCE_ID: "urza-run-7",
      ESPER_RUN_ID: "run-7",
      ESPER_SIGNING_KEY: "0123456789abcdef-key",
    });
    expect(lines(events, "urza", "stdout")).toContain(`pid ${child.pid}`);
    expect(events[0]).toEqual({ type: "spawned", actor: "urza", pid: child.pid });
  });

  it("reports an exit it did not ask for with its code, and keeps the stderr tail", async () => {
    const { events, onEvent } = collect();
    const child = await ActorChild.spawn(
      { name: "kasmina", command: fakeActorCommand("kasmina", { exitAfterMs: "50", exitCode: "7" }), env },
      onEvent,
    );
    const exit = await child.exited;
    expect(exit).toEqual({ code: 7, signal: null });
    expect(events.at(-1)).toEqual({
      type: "exited",
      actor: "kasmina",
      pid: child.pid,
      exit: { code: 7, signal: null },
      requested: false,
    });
    expect(child.stderrTail()).toContain("fatal: kasmina gave up");
  });

  it("stops a child with SIGTERM within the grace, without SIGKILL", async () => {
    const { events, onEvent } = collect();
    const child = await ActorChild.spawn(
      { name: "tamiyo", command: fakeActorCommand("tamiyo"), env },
      onEvent,
    );
    await waitFor(() => lines(events, "tamiyo", "stdout").includes("ready"));
    const result = await child.stop(10_000);
    expect(result).toEqual({ exit: { code: 0, signal: null }, killed: false });
    expect(lines(events, "tamiyo", "stderr")).toContain("draining");
    expect(events.map((e) => e.type)).not.toContain("killed");
    expect(events.at(-1)).toMatchObject({ type: "exited", requested: true });
    expect(await child.stop(10_000)).toEqual(result);
  });

  it("SIGKILLs a child that outlives the grace and reports it", async () => {
    const { events, onEvent } = collect();
    const child = await ActorChild.spawn(
      { name: "tolaria", command: fakeActorCommand("tolaria", { ignoreSigterm: "1" }), env },
      onEvent,
    );
    await waitFor(() => lines(events, "tolaria", "stdout").includes("ready"));
    const result = await child.stop(500);
    expect(result).toEqual({ exit: { code: null, signal: "SIGKILL" }, killed: true });
    expect(events).toContainEqual({ type: "killed", actor: "tolaria", pid: child.pid, graceMs: 500 });
    expect(lines(events, "tolaria", "stderr")).toContain("ignoring SIGTERM");
  });

  it("actorCommand runs the repo's `esper actor <name>` (an unknown actor exits 2 naming it)", async () => {
    const { onEvent } = collect();
    const child = await ActorChild.spawn({ name: "bogus", command: actorCommand("bogus"), env }, onEvent);
    expect(await child.exited).toEqual({ code: 2, signal: null });
    expect(child.stderrTail().join("\n")).toContain("error: no actor named 'bogus'");
  });

  it("throws ChildSpawnError naming the actor when the executable does not exist", async () => {
    const { onEvent } = collect();
    await expect(
      ActorChild.spawn({ name: "urza", command: { file: "/nonexistent/node", args: [] }, env }, onEvent),
    ).rejects.toThrow(ChildSpawnError);
  });

  it("a child drains (SIGTERM path) when its supervisor is SIGKILLed", async () => {
    const supervisorScript = new URL("./testing/supervisor.ts", import.meta.url).pathname;
    const drainedFile = join(mkdtempSync(join(tmpdir(), "wl-orphan-")), "drained");
    const command = watchedNodeCommand(supervisorScript, [`drainedFile=${drainedFile}`]);
    const supervisor = spawn(command.file, [...command.args], { stdio: ["pipe", "pipe", "pipe"] });
    let stderr = "";
    supervisor.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const childPid = await new Promise<number>((resolve, reject) => {
      let out = "";
      supervisor.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /child (\d+)\n/.exec(out);
        if (m?.[1] !== undefined) resolve(Number(m[1]));
      });
      supervisor.once("exit", (code) => reject(new Error(`supervisor exited ${code}: ${stderr}`)));
    });
    try {
      await waitFor(() => stderr.includes("[orphan] ready"));
      expect(isAlive(childPid)).toBe(true);
      supervisor.kill("SIGKILL");
      await waitFor(() => !isAlive(childPid), 20_000);
      expect(isAlive(childPid)).toBe(false);
      expect(readFileSync(drainedFile, "utf8")).toBe("drained");
    } finally {
      // When the test fails, neither process may outlive it.
      supervisor.kill("SIGKILL");
      if (isAlive(childPid)) process.kill(childPid, "SIGKILL");
    }
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
