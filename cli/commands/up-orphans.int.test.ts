import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isAlive } from "../../actors/weatherlight/testing/process-alive.ts";
import { startUpStack } from "../../actors/weatherlight/testing/up-stack.ts";
import { useNatsServer } from "../../test/bus-fixture.ts";
import { until } from "../../test/until.ts";

const fixture = useNatsServer();
const KEY = "up-stack-test-signing-key-0123456789";
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "esper-up-stack-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("esper up (real processes): the supervisor SIGKILLed", { timeout: 60_000 }, () => {
  it("SIGKILL of the supervisor (esper up) leaves no actor running: each notices and drains", async () => {
    const { up, pids } = await startUpStack(fixture.server.url, dir, KEY, "uporphans");
    const children = pids();
    try {
      expect(children.every(isAlive)).toBe(true);
      await up.kill();
      await until(() => children.every((p) => !isAlive(p)), "every actor to be gone", 20_000);
    } finally {
      for (const p of children) if (isAlive(p)) process.kill(p, "SIGKILL");
    }
  });
});
