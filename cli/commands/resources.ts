import type { Command } from "commander";
import type { BusConnection } from "../../bus/connection.ts";
import { ensureResources } from "../../bus/jetstream/ensure.ts";
import { connectFromFlags } from "../connect.ts";
import { errorText } from "../errors.ts";
import { helpFooter, NATS_ENVIRONMENT, natsOption } from "../flags.ts";

/** `esper resources ensure [--nats URL]`. */
export function define(cmd: Command): void {
  cmd
    .description(
      "Creates or updates every declared JetStream stream, consumer, KV bucket (including the worker settings " +
        "bucket every actor's preflight needs) and object store under ESPER_NAMESPACE, as the supervisor " +
        "(Weatherlight) does at its start. For a stack run without a supervisor. Idempotent. Prints a JSON " +
        "report ({created, updated, unchanged}: NATS names) on stdout.",
    )
    .addOption(natsOption());
  helpFooter(cmd, {
    environment: NATS_ENVIRONMENT,
    exitCodes: { 0: "ensured", 1: "failed (the reason is printed)", 2: "bad arguments" },
  });
}

/** `esper resources ensure`: declares the bus resources; prints what was created, updated or unchanged. */
export async function action(cmd: Command): Promise<number> {
  const url = cmd.opts<{ nats?: string }>().nats;
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
