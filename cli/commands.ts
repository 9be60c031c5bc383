import type { Command } from "commander";

/**
 * A command module: `define` declares its description, arguments, options and help text (environment,
 * exit codes) on the commander Command the table made for it; `action` runs it as that Command parsed
 * the arguments (`cmd.opts()`, `cmd.args`) and returns the exit code.
 */
export interface CommandModule {
  define(cmd: Command): void;
  action(cmd: Command): Promise<number>;
}

/** One entry of the command table: a one-line summary and a lazy loader (keeps startup fast). */
export interface CommandEntry {
  readonly summary: string;
  load(): Promise<CommandModule>;
}

/** The first word of the two-word commands, with its summary. */
export const groups: Readonly<Record<string, string>> = {
  bench: "benchmarks, each printing one JSON report",
  soak: "soak runs of the TaskQueue and the actor runtime (print JSON)",
  policy: "Tamiyo's ONNX policy",
  golden: "golden files of the recorded replays",
  recording: "recording files (.esperrec)",
  export: "export bus data to recording files",
  resources: "the bus resources (streams, consumers, buckets, object stores)",
  settings: "the worker settings, through Weatherlight",
  drill: "drills that run the stack for real and tear it down (print JSON)",
};

/** Every `esper` command, by its name (one or two words). */
export const commands: Readonly<Record<string, CommandEntry>> = {
  up: {
    summary: "run one training job on its own stack (private nats-server, Weatherlight and four actors)",
    load: () => import("./commands/up.ts"),
  },
  status: {
    summary:
      "health of a running stack by Weatherlight's /healthz (table or --json; exit 0 operational, 1 degraded)",
    load: () => import("./commands/status.ts"),
  },
  "bench train-step": {
    summary:
      "training-step time of a 784-256-10 MLP and a 2-seed host, vs PyTorch when available (prints JSON)",
    load: () => import("./commands/bench-train-step.ts"),
  },
  "bench codec": {
    summary: "encode/decode + validation timings of Leyline messages vs JSON (prints JSON)",
    load: () => import("./commands/bench-codec.ts"),
  },
  "bench bus": {
    summary:
      "bus/ vs raw nats.js: core pub/sub throughput, request/reply p50/p99, JetStream acked publish (prints JSON)",
    load: () => import("./commands/bench-bus.ts"),
  },
  "bench fanin": {
    summary:
      "Weatherlight telemetry fan-in: routed packets/s with JetStream acks, loss, latency p50/p99 (prints JSON)",
    load: () => import("./commands/bench-fanin.ts"),
  },
  "bench recovery": {
    summary:
      "Weatherlight recovery: an actor's SIGKILL to the stack operational again, p50/p95 (prints JSON)",
    load: () => import("./commands/bench-recovery.ts"),
  },
  "bench prefetch": {
    summary:
      "Urza's prefetch path over the bus (object store, sha256, ORT prewarm): latency mean/p95 (prints JSON)",
    load: () => import("./commands/bench-prefetch.ts"),
  },
  "bench tamiyo": {
    summary:
      "Tamiyo's policy inference and the evaluate round trip over the bus: latency p50/p95/p99 (prints JSON)",
    load: () => import("./commands/bench-tamiyo.ts"),
  },
  "policy fit": {
    summary:
      "fit Tamiyo's ONNX policy from recordings with the rule policy as teacher; writes model.onnx + manifest.json",
    load: () => import("./commands/policy-fit.ts"),
  },
  "bench loop": {
    summary: "esper up on a job, timed: wall time, epochs/s, epoch-boundary p50/p95 (prints JSON)",
    load: () => import("./commands/bench-loop.ts"),
  },
  "bench tolaria": {
    summary:
      "Tolaria: epoch-boundary split, fast/full restore of a 1M-parameter host, ack and heartbeat lateness (prints JSON)",
    load: () => import("./commands/bench-tolaria.ts"),
  },
  "soak worker": {
    summary: "TaskQueue soak: the six RC1 scenarios, leaks and heap growth (prints JSON)",
    load: () => import("./commands/soak-worker.ts"),
  },
  "soak actor": {
    summary:
      "actor runtime soak: start/drain cycles against its own nats-server, leaks and heap (prints JSON)",
    load: () => import("./commands/soak-actor.ts"),
  },
  "golden tamiyo": {
    summary:
      "replay the recorded evaluate requests into Tamiyo and compare with the golden replies (--update rewrites them)",
    load: () => import("./commands/golden-tamiyo.ts"),
  },
  "recording trim": {
    summary:
      "copy a recording's messages on some subjects to a new file (the fixtures of harness/recordings)",
    load: () => import("./commands/recording-trim.ts"),
  },
  record: {
    summary: "record messages on subject filters into a .esperrec file until a duration or SIGINT",
    load: () => import("./commands/record.ts"),
  },
  replay: {
    summary: "publish a .esperrec recording back (--speed original|max|<factor>, --subject, --remap)",
    load: () => import("./commands/replay.ts"),
  },
  "export stream": {
    summary: "export a JetStream stream into a .esperrec recording file (prints JSON)",
    load: () => import("./commands/export-stream.ts"),
  },
  "resources ensure": {
    summary: "create or update every declared stream, consumer, KV bucket and object store (prints JSON)",
    load: () => import("./commands/resources.ts"),
  },
  blueprints: {
    summary: "publish the blueprint library to the catalog (idempotent) or list the catalog",
    load: () => import("./commands/blueprints.ts"),
  },
  "settings get": {
    summary: "print the worker settings (or one key) as Weatherlight holds them, with their revision",
    load: () => import("./commands/settings-get.ts"),
  },
  "settings set": {
    summary:
      "change worker settings through Weatherlight (key=value..., signed; applied live by every actor)",
    load: () => import("./commands/settings-set.ts"),
  },
  command: {
    summary:
      "sign and publish an AdaptationCommand (germinate, cull, optimizer, pause, resume, emergency); --wait for its outcome",
    load: () => import("./commands/command.ts"),
  },
  emergency: {
    summary: "escalate a run: a signed EMERGENCY command (NOTICE|ELEVATED|CONSERVATIVE|HALT) for Tolaria",
    load: () => import("./commands/emergency.ts"),
  },
  health: {
    summary: "wait for an actor's heartbeat and say whether it runs (a container's health check)",
    load: () => import("./commands/health.ts"),
  },
  "nats-config": {
    summary: "print the stack's nats-server configuration (one user per actor with its publish rights)",
    load: () => import("./commands/nats-config.ts"),
  },
  "drill compose": {
    summary:
      "the compose stack for real: images, up, healthy, a command, a killed actor back, the job done, down (prints JSON)",
    load: () => import("./commands/drill-compose.ts"),
  },
  actor: {
    summary: "run one actor process until SIGTERM/SIGINT drains it",
    load: () => import("./commands/actor.ts"),
  },
};
