import type { Command } from "commander";
import { HealthSnapshot } from "../../actors/weatherlight/system-health-schema.ts";
import { helpFooter, jsonOption, usageError } from "../flags.ts";

/** How long the health endpoint has to answer. */
const REQUEST_TIMEOUT_MS = 5_000;

/** `esper status [--url URL] [--json]`. */
export function define(cmd: Command): void {
  cmd
    .description(
      "Prints the health of a running stack: Weatherlight's GET /healthz (system mode, the reasons when " +
        "degraded, each actor's supervision state, pid, restarts and last heartbeat, the telemetry " +
        "router's counts, the recent command rejections), as a table, or the snapshot as JSON with --json.",
    )
    .option(
      "--url <url>",
      "Weatherlight's health endpoint, as `esper up` says it at start (`esper up: health http://127.0.0.1:<port>/healthz`); default: ESPER_HEALTH_URL",
    )
    .addOption(jsonOption("the snapshot as one JSON line"));
  helpFooter(cmd, {
    environment: ["ESPER_HEALTH_URL: the health endpoint when --url is not given"],
    exitCodes: { 0: "operational", 1: "degraded", 2: "unreachable, not a health endpoint, or bad arguments" },
  });
}

/** `esper status`: GET /healthz of a running stack. */
export async function action(cmd: Command): Promise<number> {
  const opts = cmd.opts<{ url?: string; json?: true }>();
  let url: URL;
  try {
    url = healthzUrl(opts.url ?? process.env.ESPER_HEALTH_URL);
  } catch (error) {
    usageError(cmd, (error as Error).message);
  }
  let snapshot: HealthSnapshot;
  try {
    snapshot = await fetchSnapshot(url);
  } catch (error) {
    process.stderr.write(`esper status: ${(error as Error).message}\n`);
    return 2;
  }
  process.stdout.write(opts.json === true ? `${JSON.stringify(snapshot)}\n` : renderTable(snapshot));
  return snapshot.mode === "operational" ? 0 : 1;
}

/** The /healthz URL of `given` (a base URL or the /healthz URL itself). */
function healthzUrl(given: string | undefined): URL {
  if (given === undefined) throw new Error("give --url (esper up says it at start) or set ESPER_HEALTH_URL");
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    throw new Error(`--url must be an http URL, got '${given}'`);
  }
  if (url.protocol !== "http:") throw new Error(`--url must be an http URL, got '${given}'`);
  if (url.pathname === "/") url.pathname = "/healthz";
  if (url.pathname !== "/healthz")
    throw new Error(`--url must be http://host:port or its /healthz, got '${given}'`);
  return url;
}

async function fetchSnapshot(url: URL): Promise<HealthSnapshot> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (error as Error).message;
    throw new Error(`health endpoint ${url.href} unreachable: ${why} (is the stack running?)`);
  }
  if (res.status !== 200 && res.status !== 503) {
    throw new Error(`health endpoint ${url.href} answered HTTP ${res.status}, expected 200 or 503`);
  }
  let body: unknown;
  try {
    body = await res.json();
  } catch (error) {
    throw new Error(
      `health endpoint ${url.href} answered HTTP ${res.status} without JSON: ${(error as Error).message}`,
    );
  }
  const parsed = HealthSnapshot.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join(".") || "<root>";
    throw new Error(`health endpoint ${url.href} answered an invalid snapshot: ${field}: ${issue?.message}`);
  }
  return parsed.data;
}

function renderTable(s: HealthSnapshot): string {
  const lines = [`system_mode  ${s.mode}  (run ${s.runId}, ${new Date(s.atMs).toISOString()})`];
  for (const reason of s.reasons) lines.push(`reason       ${reason}`);
  const rows = [
    ["actor", "up", "supervision", "pid", "restarts", "last heartbeat"],
    ...s.children.map((c) => [
      c.actor,
      c.up ? "yes" : "no",
      c.supervision,
      c.pid === null ? "-" : String(c.pid),
      String(c.restarts),
      c.heartbeat === null ? "none" : `${c.heartbeat.state}, ${(c.heartbeat.ageMs / 1_000).toFixed(1)} s ago`,
    ]),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => r[i]?.length ?? 0))) ?? [];
  lines.push("");
  for (const row of rows)
    lines.push(
      row
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join("  ")
        .trimEnd(),
    );
  const { supervision: sup, router: r } = s;
  lines.push(
    "",
    `restarts     ${sup.restartsInPeriod} within ${sup.restartPeriodMs / 1_000} s (at most ${sup.restartIntensity})${sup.outcome === null ? "" : `; supervision ended: ${sup.outcome}`}`,
    `telemetry    received ${r.received}, stored normal ${r.stored.normal} / emergency ${r.stored.emergency}, throttled ${r.throttled}, rejected ${r.rejected}, dropped ${r.dropped}, publish failures ${r.publishFailures}, queue ${r.queueDepth}, acks in flight ${r.inFlight}`,
  );
  const { total, recent } = s.commandRejections;
  lines.push(
    `rejections   ${total} command${total === 1 ? "" : "s"} refused${recent.length < total ? `, the last ${recent.length}:` : recent.length > 0 ? ":" : ""}`,
  );
  for (const c of recent) {
    lines.push(
      `  ${new Date(c.atMs).toISOString()}  ${c.actor}  ${c.commandId ?? "(no command id)"}  ${c.reason ?? "(no reason)"}: ${c.detail}`,
    );
  }
  return `${lines.join("\n")}\n`;
}
