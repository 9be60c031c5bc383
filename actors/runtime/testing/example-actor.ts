import type { ActorDefinition } from "../actor-types.ts";
import { requireArtifactFile } from "../dependency-guard.ts";
import { isProcessEntry, runMain } from "../main-entry.ts";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A minimal actor used by the runtime's end-to-end tests (not registered with `esper actor`).
 * Preflight requires the file named by EXAMPLE_ARTIFACT. When running it records
 * `example.work.ticks` every 50 ms and starts one worker task lasting EXAMPLE_TASK_MS (default 300);
 * the task ignores its abort signal when EXAMPLE_TASK_STUBBORN=1. When the task completes it emits
 * `example.work.finished`. Further behaviour, by environment:
 * - EXAMPLE_START=loop: `start()` itself loops until the drain signal (the awaited-loop case);
 *   `stubborn`: `start()` ignores the signal and never returns.
 * - EXAMPLE_LONG_TASK=loop: a long task (`ctx.runTask`) loops until the drain signal, then emits
 *   `example.work.loop_ended`; `throw`: the long task throws "training diverged" after 200 ms;
 *   `stray`: a loop started without `ctx.runTask` rejects "stray loop broke" after 200 ms.
 * - EXAMPLE_END=finish|fail: after 200 ms the actor calls `ctx.finish` / `ctx.fail`.
 */
export const actor: ActorDefinition = {
  name: "example",
  preflight: [
    {
      name: "example-artifact",
      run: () => void requireArtifactFile("example artifact", process.env.EXAMPLE_ARTIFACT),
    },
  ],
  async start(ctx) {
    let ticks = 0;
    const timer = setInterval(() => ctx.telemetry.metric("example.work.ticks", ++ticks), 50);
    ctx.signal.addEventListener("abort", () => clearInterval(timer), { once: true });
    const taskMs = Number(process.env.EXAMPLE_TASK_MS ?? "300");
    const stubborn = process.env.EXAMPLE_TASK_STUBBORN === "1";
    void ctx.worker
      .submit(
        (signal) =>
          new Promise<void>((resolve, reject) => {
            const t = setTimeout(resolve, taskMs);
            if (!stubborn) {
              signal.addEventListener("abort", () => {
                clearTimeout(t);
                reject(signal.reason);
              });
            }
          }),
        { name: "example-task", timeoutMs: 60_000 },
      )
      .then(
        () =>
          ctx.telemetry.event("example.work.finished", {
            level: "INFO",
            description: `task of ${taskMs} ms finished`,
          }),
        (error: unknown) => ctx.reportError("work", error),
      );
    const longTask = process.env.EXAMPLE_LONG_TASK;
    if (longTask === "loop") {
      ctx.runTask("loop", async (signal) => {
        while (!signal.aborted) await sleep(20);
        ctx.telemetry.event("example.work.loop_ended", { level: "INFO", description: "loop saw the drain" });
      });
    } else if (longTask === "stray") {
      void (async () => {
        await sleep(200);
        throw new Error("stray loop broke");
      })();
    } else if (longTask === "throw") {
      ctx.runTask("diverging", async () => {
        await sleep(200);
        throw new Error("training diverged");
      });
    }
    const end = process.env.EXAMPLE_END;
    if (end === "finish") setTimeout(() => ctx.finish("job done"), 200);
    else if (end === "fail") setTimeout(() => ctx.fail("job cannot continue"), 200);
    ctx.log.info({ taskMs, stubborn }, "example actor started");
    const start = process.env.EXAMPLE_START;
    if (start === "loop") while (!ctx.signal.aborted) await sleep(20);
    else if (start === "stubborn") await sleep(60_000);
  },
};

if (isProcessEntry(import.meta.url)) await runMain(actor);
