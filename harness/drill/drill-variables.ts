import { randomBytes } from "node:crypto";
import type { BaseImages } from "./base-images.ts";

/** What the drill's stack is configured with beyond fresh secrets. */
export interface DrillStackInputs {
  readonly images: Pick<BaseImages, "esperBase" | "natsImage" | "jetstreamConf">;
  /** The image the actor services run (built by the drill). */
  readonly esperImage: string;
  readonly runId: string;
  readonly natsPort: number;
  readonly healthPort: number;
  /** An empty host directory for the read-only /datasets mount (the spirals job needs none). */
  readonly datasetDir: string;
  /** Random bytes as hex (injected so tests can see what is generated). */
  readonly secret?: () => string;
}

/** The NATS users of deploy/nats/esper.conf whose passwords docker-compose.yml requires. */
const PASSWORD_USERS = ["WEATHERLIGHT", "URZA", "KASMINA", "TAMIYO", "TOLARIA", "OPERATOR"] as const;

/**
 * Every variable docker-compose.yml reads, for the drill's stack: a fresh signing key and one fresh
 * password per NATS user, the images, the run, the job (spirals-growth), the ports and the data set
 * directory. Nothing is left to a default that a `.env` or the shell could change.
 */
export function drillVariables(inputs: DrillStackInputs): Record<string, string> {
  const secret = inputs.secret ?? (() => randomBytes(24).toString("hex"));
  const vars: Record<string, string> = {
    ESPER_SIGNING_KEY: secret(),
    ESPER_RUN_ID: inputs.runId,
    ESPER_NAMESPACE: "esper",
    ESPER_JOB: "spirals-growth",
    ESPER_LOG_LEVEL: "info",
    ESPER_IMAGE: inputs.esperImage,
    ESPER_BASE: inputs.images.esperBase,
    ESPER_DATASET_DIR: inputs.datasetDir,
    ESPER_HEALTH_PORT: String(inputs.healthPort),
    NATS_IMAGE: inputs.images.natsImage,
    NATS_JETSTREAM_CONF: inputs.images.jetstreamConf,
    NATS_PORT: String(inputs.natsPort),
  };
  // A leading letter: nats-server reads a value like `4e1…` from its environment as a number and stops.
  for (const user of PASSWORD_USERS) vars[`ESPER_NATS_PASS_${user}`] = `p${secret()}`;
  return vars;
}

/** The variables as an env file docker-compose reads (`KEY=value` lines). */
export function envFileText(vars: Readonly<Record<string, string>>): string {
  return Object.entries(vars)
    .map(([k, v]) => `${k}=${v}\n`)
    .join("");
}
