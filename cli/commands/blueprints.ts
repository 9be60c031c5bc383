import { parseArgs } from "node:util";
import { catalogTable, listCatalog } from "../../actors/urza/catalog-listing.ts";
import { publishLibrary } from "../../actors/urza/catalog-publisher.ts";
import { prewarmKernel } from "../../actors/urza/kernel-prewarm.ts";
import { buildLibrary, libraryConfigs } from "../../actors/urza/library.ts";
import type { BusConnection } from "../../bus/connection.ts";
import { connectFromFlags } from "../connect.ts";
import { errorText } from "../errors.ts";

const HELP = `usage: esper blueprints publish [--nats URL]
       esper blueprints list [--nats URL] [--json]

publish: builds the blueprint library of nn/blueprints (the width grid and each job's own blueprint),
prewarms each kernel in onnxruntime and stores what is new or changed: the artifact in the kernels
object store (by sha256), then the descriptor in the catalog bucket, then a KernelCatalogUpdate; what
is already stored as built is left alone, so a second publish changes nothing (Urza does the same at
its start). Prints a JSON report {added, changed, unchanged, artifactsStored, updatesPublished,
notInLibrary}.
list: prints the catalog (a table, or one JSON array with --json).

  --nats URL  NATS server URL(s), comma-separated (default: ESPER_NATS_URL, else nats://127.0.0.1:4222)
  Needs the catalog bucket and the kernels store: a running stack, or \`esper resources ensure\`.
Exit codes: 0 ok, 1 failed (the reason is printed), 2 bad arguments.`;

/** \`esper blueprints publish|list\`: the Urza catalog from the command line. */
export async function run(args: readonly string[]): Promise<number> {
  let verb: string | undefined;
  let nats: string | undefined;
  let json = false;
  try {
    const { values, positionals } = parseArgs({
      args: [...args],
      options: { nats: { type: "string" }, json: { type: "boolean" }, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: true,
    });
    if (values.help) {
      process.stdout.write(`${HELP}\n`);
      return 0;
    }
    verb = positionals[0];
    if (positionals.length !== 1 || (verb !== "publish" && verb !== "list")) {
      throw new Error("give one verb: publish or list");
    }
    if (verb === "publish" && values.json) throw new Error("publish always prints JSON; --json is for list");
    nats = values.nats;
    json = values.json === true;
  } catch (error) {
    process.stderr.write(`esper blueprints: ${(error as Error).message}\n${HELP}\n`);
    return 2;
  }
  let conn: BusConnection | undefined;
  try {
    conn = await connectFromFlags(nats, "esper-blueprints");
    if (verb === "publish") {
      const report = await publishLibrary(conn, buildLibrary(libraryConfigs(), Date.now()), {
        prewarm: prewarmKernel,
      });
      process.stdout.write(`${JSON.stringify(report)}\n`);
    } else {
      const descriptors = await listCatalog(conn);
      process.stdout.write(`${json ? JSON.stringify(descriptors) : catalogTable(descriptors)}\n`);
    }
    return 0;
  } catch (error) {
    process.stderr.write(`esper blueprints ${verb}: ${errorText(error)}\n`);
    return 1;
  } finally {
    await conn?.close();
  }
}
