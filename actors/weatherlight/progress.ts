import type { ChildEvent } from "./child-processes.ts";
import type { RunEvent } from "./run-events.ts";
import type { StageName } from "./summary-schema.ts";

type EpochEvent = Extract<RunEvent, { kind: "epoch" }>;

/** What the live line shows: the last epoch and each seed's latest stage. */
export interface ProgressView {
  readonly runId: string;
  readonly epoch?: EpochEvent;
  readonly seeds: ReadonlyMap<string, StageName>;
}

/** How progress is written: one live line (TTY), plain log lines, or JSON lines (`--json`). */
export type ProgressMode = "live" | "plain" | "json";

/** Where progress goes (process.stdout fits). */
export interface ProgressOutput {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

/** The empty view of run `runId`. */
export function emptyView(runId: string): ProgressView {
  return { runId, seeds: new Map() };
}

/** The view after `event` (pure). */
export function nextView(view: ProgressView, event: RunEvent): ProgressView {
  if (event.kind === "epoch") {
    const seeds = new Map(view.seeds);
    for (const s of event.seeds) seeds.set(s.seedId, s.stage);
    return { ...view, epoch: event, seeds };
  }
  if (event.kind === "seed_stage") {
    return { ...view, seeds: new Map(view.seeds).set(event.seedId, event.to) };
  }
  return view;
}

const loss = (v: number) => v.toFixed(4);
const percent = (v: number) => `${(v * 100).toFixed(1)}%`;
const thousands = (v: number) => v.toLocaleString("en-US");
const seedList = (seeds: ReadonlyMap<string, StageName>) =>
  seeds.size === 0 ? "none" : [...seeds].map(([id, stage]) => `${id}:${stage}`).join(" ");

/** The live line: run, epoch, losses, accuracy, parameters, seed stages; cut to `columns - 1` characters. */
export function renderLiveLine(view: ProgressView, columns: number): string {
  const e = view.epoch;
  const line =
    e === undefined
      ? `run ${view.runId} · starting · seeds ${seedList(view.seeds)}`
      : `run ${view.runId} · epoch ${e.epoch}/${e.epochsTotal} · loss ${loss(e.trainingLoss)} val ${loss(e.validationLoss)} · acc ${percent(e.validationAccuracy)} · params ${thousands(e.parameterCount)} · seeds ${seedList(view.seeds)}`;
  const width = Math.max(columns - 1, 1);
  return line.length > width ? `${line.slice(0, width - 1)}…` : line;
}

/** One plain log line for `event`, prefixed by its ISO time. */
export function renderPlainLine(event: RunEvent): string {
  return `${new Date(event.atMs).toISOString()} ${describe(event)}`;
}

/** A child's output line prefixed by its actor (`[urza] …`; stderr lines `[urza!] …`). */
export function renderChildLine(event: Extract<ChildEvent, { type: "output" }>): string {
  return `[${event.actor}${event.stream === "stderr" ? "!" : ""}] ${event.line}`;
}

/** One JSON line for `event` (`--json`). */
export function renderJsonLine(event: RunEvent): string {
  return JSON.stringify(event);
}

function describe(event: RunEvent): string {
  switch (event.kind) {
    case "epoch":
      return `epoch ${event.epoch}/${event.epochsTotal} loss ${loss(event.trainingLoss)} val_loss ${loss(event.validationLoss)} acc ${percent(event.validationAccuracy)} params ${event.parameterCount} seeds ${event.seeds.length === 0 ? "none" : event.seeds.map((s) => `${s.seedId}:${s.stage}`).join(" ")}`;
    case "seed_stage":
      return `seed ${event.seedId} ${event.from} → ${event.to}: ${event.reason}`;
    case "command_issued":
      return `command ${event.commandId} issued: ${event.commandType}${event.operation !== undefined ? `/${event.operation}` : ""}${event.targetSeedId !== undefined ? ` for seed ${event.targetSeedId}` : ""}`;
    case "command_applied":
      return `command ${event.commandId} applied by directive ${event.directiveId}`;
    case "command_rejected":
      return `command ${event.commandId} rejected: ${event.reason}`;
    case "decision_timeout":
      return `no decision for epoch ${event.epoch} (packet ${event.packetId}) in time`;
    case "actor":
      return `actor ${event.actor} ${event.state}: ${event.detail}`;
    case "finished":
      return `run ${event.outcome} after ${(event.wallTimeMs / 1000).toFixed(1)} s: ${event.reason}`;
  }
}

/** `json` when asked for, else `live` on a TTY and `plain` otherwise. */
export function progressMode(output: ProgressOutput, json: boolean): ProgressMode {
  if (json) return "json";
  return output.isTTY === true ? "live" : "plain";
}

const CLEAR_LINE = "\r\x1b[2K";

/**
 * Writes run events in one mode. `live`: epochs redraw the one live line; any other event is printed
 * as a plain line above it. `plain` and `json`: one line per event.
 */
export class ProgressWriter {
  private view: ProgressView;
  private liveDrawn = false;

  constructor(
    private readonly output: ProgressOutput,
    readonly mode: ProgressMode,
    runId: string,
  ) {
    this.view = emptyView(runId);
  }

  /** Writes `event`. */
  event(event: RunEvent): void {
    this.view = nextView(this.view, event);
    if (this.mode === "json") {
      this.output.write(`${renderJsonLine(event)}\n`);
      return;
    }
    if (this.mode === "plain") {
      this.output.write(`${renderPlainLine(event)}\n`);
      return;
    }
    // A terminal that reports no width (0, e.g. under `script`) gets 80 columns.
    const live = renderLiveLine(this.view, this.output.columns || 80);
    if (event.kind === "epoch") {
      this.output.write(`${CLEAR_LINE}${live}`);
    } else {
      this.output.write(`${CLEAR_LINE}${renderPlainLine(event)}\n${event.kind === "finished" ? "" : live}`);
    }
    this.liveDrawn = event.kind !== "finished";
  }

  /** Ends the live line (if one is drawn) so later output starts on its own line. */
  close(): void {
    if (this.liveDrawn) this.output.write("\n");
    this.liveDrawn = false;
  }
}
