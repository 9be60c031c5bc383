/**
 * Preloaded into every actor child (`node --import tsx --import <this file>`): when the supervisor
 * dies, the child drains. The supervisor holds the write end of the child's stdin pipe; the kernel
 * closes it when the supervisor exits for any reason (including SIGKILL), so stdin ends and this
 * module sends the child SIGTERM, which the actor runtime already answers by draining (bounded by
 * `worker.shutdownGraceMs`, exit 4 past it). Nothing is needed from the runtime.
 *
 * With the supervisor gone, stdout and stderr are pipes nobody reads: a write fails with EPIPE, which
 * would crash the child in the middle of its drain. EPIPE on them is therefore dropped (the output has
 * no reader left); any other stream error is thrown as before. stdin is unref'd, so the watch never
 * keeps a child alive by itself.
 */
const stdin = process.stdin;
let signalled = false;
const parentGone = (): void => {
  if (signalled) return;
  signalled = true;
  process.kill(process.pid, "SIGTERM");
};
for (const out of [process.stdout, process.stderr]) {
  out.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
  });
}
stdin.on("data", () => undefined);
stdin.on("end", parentGone);
stdin.on("close", parentGone);
stdin.on("error", parentGone);
stdin.resume();
(stdin as unknown as { unref?: () => void }).unref?.();
