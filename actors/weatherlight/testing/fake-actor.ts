/**
 * A fake actor child for the weatherlight tests (not an actor: no NATS). Behaviour from argv
 * (`fake-actor.ts <name> [options as key=value]`):
 * - prints `env <json of its ESPER_* variables>` on stdout, then `ready` after `readyAfterMs` (default 0);
 * - `exitAfterMs=N exitCode=C`: writes `fatal: <name> gave up` on stderr and exits with C after N ms;
 * - `ignoreSigterm=1`: stays alive on SIGTERM (the supervisor must SIGKILL it);
 * - `neverReady=1`: never prints `ready`;
 * - `drainedFile=<path>`: writes `drained` to that file when its drain completes;
 * - `beatEveryMs=N`: prints `beat` on stdout every N ms (a heartbeat stand-in);
 * - `silentAfterMs=N`: stops the beats after N ms and stays alive (a hung actor);
 * - `onceFile=<path>`: `exitAfterMs` and `silentAfterMs` apply only to the first start (the one that
 *   creates the file); a restart finding the file behaves;
 * - `readyOnlyOnce=1` (with `onceFile`): a restart finding the file never prints `ready`.
 * On SIGTERM (otherwise) it prints `draining` on stderr, 100 ms later `drained` on stdout, and exits 0.
 */
import { existsSync, writeFileSync } from "node:fs";

const [name = "fake", ...rest] = process.argv.slice(2);
const opts = new Map(rest.map((a) => a.split("=") as [string, string]));
const esper = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith("ESPER_")));
process.stdout.write(`env ${JSON.stringify(esper)}\n`);
process.stdout.write(`pid ${process.pid}\n`);
const keepAlive = setInterval(() => undefined, 1_000);
const onceFile = opts.get("onceFile");
const misbehaves = onceFile === undefined || !existsSync(onceFile);
if (onceFile !== undefined && misbehaves) writeFileSync(onceFile, `${process.pid}`);
const readyNever = opts.get("neverReady") === "1" || (opts.get("readyOnlyOnce") === "1" && !misbehaves);
if (!readyNever) {
  setTimeout(() => process.stdout.write("ready\n"), Number(opts.get("readyAfterMs") ?? "0"));
}
const beatEvery = opts.get("beatEveryMs");
if (beatEvery !== undefined) {
  const beats = setInterval(() => process.stdout.write("beat\n"), Number(beatEvery));
  const silentAfter = opts.get("silentAfterMs");
  if (silentAfter !== undefined && misbehaves) setTimeout(() => clearInterval(beats), Number(silentAfter));
}
const exitAfter = misbehaves ? opts.get("exitAfterMs") : undefined;
if (exitAfter !== undefined) {
  setTimeout(() => {
    process.stderr.write(`fatal: ${name} gave up\n`);
    process.exit(Number(opts.get("exitCode") ?? "1"));
  }, Number(exitAfter));
}
process.on("SIGTERM", () => {
  if (opts.get("ignoreSigterm") === "1") {
    process.stderr.write("ignoring SIGTERM\n");
    return;
  }
  process.stderr.write("draining\n");
  clearInterval(keepAlive);
  // Like an actor's drain: it takes a while and keeps logging before it exits.
  setTimeout(() => {
    process.stdout.write("drained\n");
    const drainedFile = opts.get("drainedFile");
    if (drainedFile !== undefined) writeFileSync(drainedFile, "drained");
    process.exit(0);
  }, 100);
});
