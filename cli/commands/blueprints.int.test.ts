import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildLibrary, libraryConfigs } from "../../actors/urza/library.ts";
import { connectBus } from "../../bus/connection.ts";
import { ensureResources } from "../../bus/jetstream/ensure.ts";
import { useNatsServer } from "../../test/bus-fixture.ts";
import { captureCommand } from "../../test/command-output.ts";
import { main } from "../main.ts";

const run = (args: readonly string[]): Promise<number> => main(["blueprints", ...args]);

const fixture = useNatsServer();
const ns = `bp${Math.random().toString(36).slice(2, 8)}`;
const previous = process.env.ESPER_NAMESPACE;

beforeAll(async () => {
  process.env.ESPER_NAMESPACE = ns;
  const bus = await connectBus({ name: "blueprints-test", namespace: ns, ...fixture.server.address });
  await ensureResources(bus);
  await bus.close();
});
afterAll(() => {
  if (previous === undefined) delete process.env.ESPER_NAMESPACE;
  else process.env.ESPER_NAMESPACE = previous;
});

describe("esper blueprints (real nats-server, real onnxruntime)", { timeout: 120_000 }, () => {
  it("publish stores the whole library once; a second publish changes nothing; list prints it", async () => {
    const library = buildLibrary(libraryConfigs(), 0);
    const first = await captureCommand(run, ["publish", "--nats", fixture.server.url]);
    expect(first.code, first.err).toBe(0);
    expect(JSON.parse(first.out)).toMatchObject({ added: library.length, changed: 0, unchanged: 0 });
    const second = await captureCommand(run, ["publish", "--nats", fixture.server.url]);
    expect(JSON.parse(second.out)).toMatchObject({ added: 0, changed: 0, unchanged: library.length });

    const listed = await captureCommand(run, ["list", "--nats", fixture.server.url, "--json"]);
    const ids = (JSON.parse(listed.out) as { blueprintId: string }[]).map((d) => d.blueprintId);
    expect(ids).toEqual(library.map((e) => e.descriptor.blueprintId).sort());
    const table = await captureCommand(run, ["list", "--nats", fixture.server.url]);
    const lines = table.out.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^blueprint\s+tier\s+risk\s+approval\s+in→out\s+params\s+sha256$/);
    expect(lines).toHaveLength(library.length + 1);
  });

  it("without the catalog bucket, fails naming it; a bad verb is exit 2", async () => {
    process.env.ESPER_NAMESPACE = `${ns}x`;
    try {
      const missing = await captureCommand(run, ["list", "--nats", fixture.server.url]);
      expect(missing.code).toBe(1);
      expect(missing.err).toMatch(/catalog/);
    } finally {
      process.env.ESPER_NAMESPACE = ns;
    }
    expect((await captureCommand(run, ["frobnicate"])).code).toBe(2);
  });
});
