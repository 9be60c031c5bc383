import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { HTTP_HOST_ENV, HTTP_PORT_ENV } from "../actors/weatherlight/compose-service.ts";
import { passwordVariable, STACK_USERS } from "../bus/server/permissions.ts";
import { stackServerConfig } from "../bus/server/stack-server-config.ts";
import { commands } from "../cli/commands.ts";
import { STACK_ACTORS } from "../contracts/subjects.ts";

const root = (path: string): string => fileURLToPath(new URL(`../${path}`, import.meta.url));
const read = (path: string): string => readFileSync(root(path), "utf8");

interface Service {
  image?: string;
  ports?: string[];
  command?: string[];
  restart?: string;
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  volumes?: string[];
}

const composeText = read("docker-compose.yml");
const compose = parse(composeText, { merge: true }) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};
const services = compose.services;
const actorServices = Object.entries(services).filter(([name]) => name !== "nats");

/** The command name `esper` dispatches `argv` to (the longest registered one- or two-word name). */
function dispatched(argv: readonly string[]): string | undefined {
  for (let words = Math.min(2, argv.length); words > 0; words--) {
    const name = argv.slice(0, words).join(" ");
    if (commands[name] !== undefined) return name;
  }
  return undefined;
}

describe("docker-compose.yml (structure)", () => {
  it("runs one service per stack actor, each `esper actor <name>` of an actor with an entry module", () => {
    expect(actorServices.map(([name]) => name).sort()).toEqual([...STACK_ACTORS].sort());
    for (const [name, s] of actorServices) {
      expect(s.command, name).toEqual(["actor", name]);
      expect(dispatched(s.command ?? []), name).toBe("actor");
      expect(existsSync(root(`actors/${name}/main.ts`)), `actors/${name}/main.ts`).toBe(true);
    }
  });

  it("gives each actor its own NATS user and only its own password, and a health check on its heartbeat", () => {
    for (const [name, s] of actorServices) {
      const env = s.environment ?? {};
      expect(env.ESPER_ACTOR, name).toBe(name);
      expect(env.ESPER_NATS_USER, name).toBe(name);
      expect(env.ESPER_NATS_PASS, name).toMatch(new RegExp(`^\\$\\{${passwordVariable(name as "urza")}:\\?`));
      expect(
        Object.keys(env).filter((k) => k.startsWith("ESPER_NATS_PASS_")),
        name,
      ).toEqual([]);
      expect(env.ESPER_SIGNING_KEY, name).toMatch(/^\$\{ESPER_SIGNING_KEY:\?/);
      expect(s.image, name).toMatch(/^\$\{ESPER_IMAGE:-esper:latest\}$/);
      expect(s.restart, name).toMatch(/^(unless-stopped|on-failure|always)$/);
      expect(s.volumes, name).toContain("runs:/var/lib/esper/runs");
    }
    const dockerfile = read("Dockerfile");
    expect(dockerfile).toMatch(
      /^HEALTHCHECK .*\n?.*CMD node bin\/esper\.js health "\$ESPER_ACTOR" --this-host/m,
    );
    expect(dispatched(["health"])).toBe("health");
  });

  it("gives Weatherlight the health endpoint its preflight requires, listening for the host's published port", () => {
    const env = services.weatherlight?.environment ?? {};
    const port = env[HTTP_PORT_ENV];
    expect(port, HTTP_PORT_ENV).toMatch(/^\d+$/);
    expect(env[HTTP_HOST_ENV], HTTP_HOST_ENV).toBe("0.0.0.0");
    expect(services.weatherlight?.ports).toEqual([`127.0.0.1:\${ESPER_HEALTH_PORT:-8080}:${port}`]);
  });

  it("starts in order on health: nats, weatherlight, urza, kasmina, tamiyo, tolaria", () => {
    const order = ["nats", "weatherlight", "urza", "kasmina", "tamiyo", "tolaria"];
    for (let i = 1; i < order.length; i++) {
      const s = services[order[i] as string];
      expect(s?.depends_on, order[i]).toEqual({ [order[i - 1] as string]: { condition: "service_healthy" } });
    }
    expect(services.nats?.healthcheck?.test.join(" ")).toContain("/healthz?js-enabled-only=true");
    expect(Object.keys(compose.volumes).sort()).toEqual(["nats-data", "runs"]);
  });

  it("runs NATS with the generated configuration and every user's password from the environment", () => {
    expect(read("deploy/nats/esper.conf")).toBe(stackServerConfig("esper"));
    const env = services.nats?.environment ?? {};
    expect(Object.keys(env).sort()).toEqual(STACK_USERS.map(passwordVariable).sort());
    expect(services.nats?.image).toMatch(/^\$\{NATS_IMAGE:-nats:/);
    expect(services.nats?.volumes).toContain("./deploy/nats/esper.conf:/etc/nats/esper.conf:ro");
  });

  it("documents every variable: interpolated ones in the env example and deploy/README, container ones in deploy/README", () => {
    const example = read("deploy/esper.env.example");
    const readme = read("deploy/README.md");
    const interpolated = new Set([...composeText.matchAll(/\$\{([A-Z0-9_]+)/g)].map((m) => m[1] as string));
    expect(interpolated.size).toBeGreaterThan(10);
    for (const v of interpolated) {
      expect(example, `${v} in deploy/esper.env.example`).toMatch(new RegExp(`^(# )?${v}=`, "m"));
      expect(readme, `${v} in deploy/README.md`).toContain(`\`${v}\``);
    }
    const containerVars = new Set(actorServices.flatMap(([, s]) => Object.keys(s.environment ?? {})));
    for (const v of containerVars) {
      if (interpolated.has(v)) continue;
      expect(readme + read("actors/runtime/process-settings.ts"), `${v} documented`).toContain(v);
    }
  });

  it("builds one non-root image from a replaceable Node 20 base with production dependencies only", () => {
    const dockerfile = read("Dockerfile");
    expect(dockerfile).toMatch(/^ARG BASE=node:20-bookworm-slim$/m);
    expect(dockerfile).toMatch(/^FROM \$\{BASE\}$/m);
    expect(dockerfile).toMatch(/^RUN npm ci --omit=dev/m);
    expect(dockerfile).toMatch(/^USER esper$/m);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["node", "bin\/esper\.js"\]$/m);
  });
});
