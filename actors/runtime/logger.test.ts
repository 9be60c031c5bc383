import { describe, expect, it } from "vitest";
import { createLogger } from "./logger.ts";

describe("createLogger", () => {
  it("writes JSON lines with actor, instance and run ids on every line", () => {
    const lines: string[] = [];
    const log = createLogger({
      actor: "kasmina",
      instanceId: "host-12",
      runId: "run-1",
      level: "info",
      pretty: false,
      destination: { write: (s: string) => lines.push(s) },
    });
    log.info({ seed: "s1" }, "hello");
    log.child({ area: "gate" }).warn("careful");
    log.debug("not at this level");
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed).toHaveLength(2);
    for (const p of parsed)
      expect(p).toMatchObject({ actor: "kasmina", instanceId: "host-12", runId: "run-1", pid: process.pid });
    expect(parsed[0]).toMatchObject({ msg: "hello", seed: "s1", level: 30 });
    expect(parsed[1]).toMatchObject({ msg: "careful", area: "gate", level: 40 });
  });
});
