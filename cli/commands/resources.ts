import { parseArgs } from "node:util";
import type { BusConnection } from "../../bus/connection.ts";
import { ensureResources } from "../../bus/jetstream/ensure.ts";
import { connectFromFlags } from "../connect.ts";
import { errorText } from "../errors.ts";

const HELP = `usage: esper resources ensure [--nats nats://...]

Creates or updates every declared JetStream stream, consumer, KV bucket (including the worker
settings bucket every actor's preflight needs) and object store under ESPER_NAMESPACE, as the
supervisor (Weatherlight) does at its start. For a stack run without a supervisor. Idempotent.
Prints a JSON report ({created, updated, unchanged}: NATS names) on stdout.

  --nats URL  NATS server URL(s), comma-separated (default: ESPER_NATS_URL, else nats://127.0.0.1:4222)`;

/** `esper resources ensure`: declares the bus resources; prints what was created, updated or unchanged. */
export async function run(args: readonly string[]): Promise<number> {
  let url: string | undefined;
  try {
    const { values, positionals } = parseArgs({
      args: [...args],
      options: { nats: { type: "string" }, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: true,
    });
    if (values.help) {
      process.stdout.write(`${HELP}\n`);
      return 0;
    }
    if (positionals.length > 0) throw new Error(`unexpected argument '${positionals.join(" ")}'`);
    url = values.nats;
  } catch (error) {
    process.stderr.write(`esper resources ensure: ${(error as Error).message}\n${HELP}\n`);
    return 2;
  }
  let conn: BusConnection | undefined;
  try {
    conn = await connectFromFlags(url, "esper-resources");
    const report = await ensureResources(conn);
    process.stdout.write(`${JSON.stringify({ namespace: conn.namespace, ...report })}\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`esper resources ensure: ${errorText(error)}\n`);
    return 1;
  } finally {
    await conn?.close();
  }
}
