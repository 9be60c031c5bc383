import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { connectBus } from "../../bus/connection.ts";
import { streamExists } from "../../bus/jetstream/context.ts";
import { storeName } from "../../contracts/stores.ts";
import { useNatsServer } from "../../test/bus-fixture.ts";
import { main } from "../main.ts";

const run = (args: readonly string[]): Promise<number> => main(["resources", "ensure", ...args]);

const fixture = useNatsServer();
const ns = `res${Math.random().toString(36).slice(2, 8)}`;
const previous = process.env.ESPER_NAMESPACE;

beforeAll(() => {
  process.env.ESPER_NAMESPACE = ns;
});
afterAll(() => {
  if (previous === undefined) delete process.env.ESPER_NAMESPACE;
  else process.env.ESPER_NAMESPACE = previous;
});

async function ensure(): Promise<{ code: number; report: { created: string[]; unchanged: string[] } }> {
  const out: string[] = [];
  const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
    out.push(String(chunk));
    return true;
  });
  try {
    const code = await run(["--nats", fixture.server.url]);
    return { code, report: JSON.parse(out.join("")) };
  } finally {
    spy.mockRestore();
  }
}

describe("esper resources ensure (real nats-server)", () => {
  it("creates the settings bucket and every other resource, then finds them unchanged", async () => {
    const first = await ensure();
    expect(first.code).toBe(0);
    expect(first.report.created).toContain(storeName(ns, "settings"));
    const bus = await connectBus({ name: "resources-test", namespace: ns, ...fixture.server.address });
    try {
      expect(await streamExists(bus, `KV_${storeName(ns, "settings")}`)).toBe(true);
    } finally {
      await bus.close();
    }
    const second = await ensure();
    expect(second.code).toBe(0);
    expect(second.report.created).toEqual([]);
    expect(second.report.unchanged).toEqual(expect.arrayContaining(first.report.created));
  });

  it("refuses an unexpected argument with exit 2", async () => {
    const err = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      expect(await run(["everything"])).toBe(2);
      expect(String(err.mock.calls[0]?.[0])).toContain(
        "error: too many arguments for 'ensure'. Expected 0 arguments but got 1.",
      );
    } finally {
      err.mockRestore();
    }
  });
});
