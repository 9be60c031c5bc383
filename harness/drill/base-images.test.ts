import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  JETSTREAM_CONF,
  jetstreamConfFor,
  OFFICIAL_NATS_IMAGE,
  OFFICIAL_NODE_IMAGE,
  type StandInInputs,
  standInTags,
} from "./base-images.ts";

const inputs: StandInInputs = {
  suite: "bookworm",
  mirror: "http://deb.debian.org/debian",
  packages: ["nats-server", "wget"],
  nodeSha256: "a".repeat(64),
  npmVersion: "11.19.1",
  npmInputsSha256: "b".repeat(12),
};
const root = (path: string): string => readFileSync(new URL(`../../${path}`, import.meta.url), "utf8");

describe("stand-in image tags", () => {
  it("are the same for the same inputs (a second drill finds the images it built)", () => {
    expect(standInTags(inputs)).toEqual(standInTags({ ...inputs, packages: ["wget", "nats-server"] }));
  });

  it("change Node's tag alone with the lock file, Node or npm, and all of them with the Debian system", () => {
    const base = standInTags(inputs);
    for (const changed of [
      { npmInputsSha256: "c".repeat(12) },
      { nodeSha256: "d".repeat(64) },
      { npmVersion: "10.9.0" },
    ]) {
      const t = standInTags({ ...inputs, ...changed });
      expect(t.node, JSON.stringify(changed)).not.toBe(base.node);
      expect(t.debian).toBe(base.debian);
    }
    const other = standInTags({ ...inputs, mirror: "http://other.example/debian" });
    expect([other.debian, other.nats, other.node]).not.toContain(base.debian);
    expect(other.node).not.toBe(base.node);
    expect(base.nats.split(":")[1]).toBe(base.debian.split(":")[1]);
  });
});

describe("jetstreamConfFor", () => {
  it("gives nats-server 2.9 (Debian bookworm) the file without sync_interval, 2.10 and later sync_interval: always", () => {
    expect(jetstreamConfFor("nats-server: v2.9.10")).toBe(JETSTREAM_CONF.v2_9);
    expect(jetstreamConfFor("nats-server: v2.10.0")).toBe(JETSTREAM_CONF.syncAlways);
    expect(jetstreamConfFor("nats-server: v2.12.1")).toBe(JETSTREAM_CONF.syncAlways);
    expect(() => jetstreamConfFor("no version here")).toThrow(/cannot read a nats-server version/);
  });

  it("names files that exist and say what they claim", () => {
    expect(root(JETSTREAM_CONF.v2_9)).not.toMatch(/^\s*sync_interval/m);
    expect(root(JETSTREAM_CONF.syncAlways)).toMatch(/^\s*sync_interval: always$/m);
  });
});

describe("official images", () => {
  it("are the Dockerfile's and docker-compose.yml's defaults", () => {
    expect(root("Dockerfile")).toContain(`ARG BASE=${OFFICIAL_NODE_IMAGE}\n`);
    expect(root("docker-compose.yml")).toContain(`\${NATS_IMAGE:-${OFFICIAL_NATS_IMAGE}}`);
  });
});
