import type { ActorDefinition } from "../actor-types.ts";
import { requireArtifactFile } from "../dependency-guard.ts";
import { isProcessEntry, runMain } from "../main-entry.ts";

/**
 * A minimal actor used by the runtime's end-to-end tests (not registered with `esper actor`).
 * Preflight requires the file named by EXAMPLE_ARTIFACT. When running it records
 * `example.work.ticks` every 50 ms and starts one worker task lasting EXAMPLE_TASK_MS (default 300);
 * the task ignores its abort signal when EXAMPLE_TASK_STUBBORN=1. When the task completes it emits
 * `example.work.finished`.
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
    ctx.log.info({ taskMs, stubborn }, "example actor started");
  },
};

if (isProcessEntry(import.meta.url)) await runMain(actor);
