import { hostname } from "node:os";
import { z } from "zod";
import { isPlaceholderId } from "./dependency-guard.ts";
import { LOG_LEVELS } from "./logger.ts";

const TOKEN = /^[A-Za-z0-9_-]{1,128}$/;
const NATS_PROTOCOLS = new Set(["nats:", "tls:", "ws:", "wss:"]);

const token = (what: string) =>
  z
    .string()
    .regex(
      TOKEN,
      `must be 1-128 characters of [A-Za-z0-9_-] (a ${what} is used in subjects and consumer names)`,
    )
    .refine((v) => !isPlaceholderId(v), `must not be a placeholder ${what}`);

/** The instance id used when ESPER_INSTANCE_ID is not set: `<hostname>-<pid>`, reduced to subject-safe characters. */
export function defaultInstanceId(): string {
  return `${hostname().replace(/[^A-Za-z0-9_-]/g, "-")}-${process.pid}`.slice(0, 128);
}

/**
 * The process settings, read from the environment (the one home of their defaults):
 * - ESPER_NAMESPACE: subject/bucket namespace, `[a-z0-9_-]+`, default `esper`.
 * - ESPER_NATS_URL: comma-separated server URLs (nats, tls, ws, wss), default `nats://127.0.0.1:4222`.
 * - ESPER_NATS_USER / ESPER_NATS_PASS: credentials, both or neither; default none.
 * - ESPER_INSTANCE_ID: this process's id, default `<hostname>-<pid>`.
 * - ESPER_RUN_ID: the run this process belongs to; no default here (the process entry generates one
 *   for a standalone start and logs it).
 * - ESPER_SIGNING_KEY: the HMAC key (at least 16 characters); optional here, required by the actors
 *   that sign or verify through their preflight.
 * - ESPER_LOG_LEVEL: pino level, default `info`. ESPER_LOG_PRETTY: `1|0|true|false`, default: stdout is a TTY.
 * - ESPER_CONNECT_TIMEOUT_MS: NATS connect timeout, 1..600000, default 5000.
 */
export const ProcessEnv = z
  .object({
    ESPER_NAMESPACE: z
      .string()
      .regex(/^[a-z0-9_-]+$/, "must match [a-z0-9_-]+")
      .max(64)
      .default("esper"),
    ESPER_NATS_URL: z
      .string()
      .default("nats://127.0.0.1:4222")
      .transform((v, ctx) => {
        const servers = v.split(",").map((s) => s.trim());
        for (const s of servers) {
          let ok = false;
          try {
            ok = NATS_PROTOCOLS.has(new URL(s).protocol);
          } catch {
            ok = false;
          }
          if (!ok)
            ctx.addIssue({ code: "custom", message: `'${s}' is not a nats://, tls://, ws:// or wss:// URL` });
        }
        return servers;
      }),
    ESPER_NATS_USER: z.string().min(1, "must not be empty").optional(),
    ESPER_NATS_PASS: z.string().min(1, "must not be empty").optional(),
    ESPER_INSTANCE_ID: token("instance id").optional(),
    ESPER_RUN_ID: token("run id").optional(),
    ESPER_SIGNING_KEY: z
      .string()
      .min(16, "must be at least 16 characters")
      .refine((v) => !isPlaceholderId(v), "must not be a placeholder")
      .optional(),
    ESPER_LOG_LEVEL: z
      .enum(LOG_LEVELS, { message: `must be one of ${LOG_LEVELS.join(", ")}` })
      .default("info"),
    ESPER_LOG_PRETTY: z
      .enum(["1", "0", "true", "false"], { message: "must be 1, 0, true or false" })
      .transform((v) => v === "1" || v === "true")
      .optional(),
    ESPER_CONNECT_TIMEOUT_MS: z
      .string()
      .regex(/^\d+$/, "must be an integer number of milliseconds")
      .transform(Number)
      .pipe(z.number().int().min(1, "must be at least 1").max(600_000, "must be at most 600000"))
      .default(5_000),
  })
  .superRefine((e, ctx) => {
    if ((e.ESPER_NATS_USER === undefined) !== (e.ESPER_NATS_PASS === undefined)) {
      const missing = e.ESPER_NATS_USER === undefined ? "ESPER_NATS_USER" : "ESPER_NATS_PASS";
      ctx.addIssue({
        code: "custom",
        path: [missing],
        message: "must be set together with the other NATS credential",
      });
    }
  })
  .transform((e) => ({
    namespace: e.ESPER_NAMESPACE,
    natsServers: e.ESPER_NATS_URL,
    natsCredentials:
      e.ESPER_NATS_USER !== undefined && e.ESPER_NATS_PASS !== undefined
        ? { user: e.ESPER_NATS_USER, pass: e.ESPER_NATS_PASS }
        : undefined,
    instanceId: e.ESPER_INSTANCE_ID ?? defaultInstanceId(),
    runId: e.ESPER_RUN_ID,
    signingKey: e.ESPER_SIGNING_KEY,
    logLevel: e.ESPER_LOG_LEVEL,
    logPretty: e.ESPER_LOG_PRETTY,
    connectTimeoutMs: e.ESPER_CONNECT_TIMEOUT_MS,
  }));

/** The parsed process settings. */
export type ProcessSettings = z.output<typeof ProcessEnv>;

/** One bad environment variable. */
export interface EnvIssue {
  readonly variable: string;
  readonly problem: string;
}

/** The environment holds one or more bad variables; lists every one of them. */
export class ProcessSettingsError extends Error {
  override readonly name = "ProcessSettingsError";
  constructor(readonly issues: readonly EnvIssue[]) {
    super(`invalid process settings:\n${issues.map((i) => `  ${i.variable}: ${i.problem}`).join("\n")}`);
  }
}

/** Parses the process settings from `env` (default `process.env`); throws ProcessSettingsError listing every bad variable. */
export function loadProcessSettings(
  env: Readonly<Record<string, string | undefined>> = process.env,
): ProcessSettings {
  const result = ProcessEnv.safeParse(env);
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => ({
    variable: typeof i.path[0] === "string" ? i.path[0] : "<environment>",
    problem: i.message,
  }));
  throw new ProcessSettingsError(issues);
}
