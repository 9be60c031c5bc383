import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { drillVariables, envFileText } from "./drill-variables.ts";

const compose = readFileSync(new URL("../../docker-compose.yml", import.meta.url), "utf8");
let n = 0;
const vars = drillVariables({
  images: { esperBase: "base:1", natsImage: "nats:1", jetstreamConf: "./deploy/nats/jetstream-2.9.conf" },
  esperImage: "esper-drill:latest",
  runId: "drill-1",
  natsPort: 14222,
  healthPort: 18080,
  datasetDir: "/tmp/d",
  secret: () => `${n++}e5${"0".repeat(10)}`,
});

describe("drillVariables", () => {
  it("sets every variable docker-compose.yml reads, so no .env or shell default decides the drill's stack", () => {
    const read = new Set([...compose.matchAll(/\$\{([A-Z0-9_]+)/g)].map((m) => m[1] as string));
    expect(read.size).toBeGreaterThan(10);
    for (const v of read) expect(vars[v], v).toBeDefined();
  });

  it("gives each NATS user its own password starting with a letter (nats-server reads 4e12… as a number)", () => {
    const passwords = Object.entries(vars).filter(([k]) => k.startsWith("ESPER_NATS_PASS_"));
    expect(passwords).toHaveLength(6);
    for (const [k, p] of passwords) expect(p, k).toMatch(/^[A-Za-z]/);
    expect(new Set(passwords.map(([, p]) => p)).size).toBe(6);
  });

  it("writes KEY=value lines", () => {
    expect(envFileText({ A: "1", B: "x y" })).toBe("A=1\nB=x y\n");
  });
});
