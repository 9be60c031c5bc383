import { Argument, type Command } from "commander";
import { catalogTable, listCatalog } from "../../actors/urza/catalog-listing.ts";
import { publishLibrary } from "../../actors/urza/catalog-publisher.ts";
import { prewarmKernel } from "../../actors/urza/kernel-prewarm.ts";
import { buildLibrary, libraryConfigs } from "../../actors/urza/library.ts";
import type { BusConnection } from "../../bus/connection.ts";
import { connectFromFlags } from "../connect.ts";
import { errorText } from "../errors.ts";
import { helpFooter, jsonOption, NATS_ENVIRONMENT, natsOption, usageError } from "../flags.ts";

/** `esper blueprints publish|list [--nats URL] [--json]`. */
export function define(cmd: Command): void {
  cmd
    .description(
      "publish: builds the blueprint library of nn/blueprints (the width grid and each job's own blueprint), " +
        "prewarms each kernel in onnxruntime and stores what is new or changed: the artifact in the kernels " +
        "object store (by sha256), then the descriptor in the catalog bucket, then a KernelCatalogUpdate; what " +
        "is already stored as built is left alone, so a second publish changes nothing (Urza does the same at " +
        "its start). Prints a JSON report {added, changed, unchanged, artifactsStored, updatesPublished, " +
        "notInLibrary}.\nlist: prints the catalog (a table, or one JSON array with --json).\n" +
        "Needs the catalog bucket and the kernels store: a running stack, or `esper resources ensure`.",
    )
    .addArgument(new Argument("<verb>", "what to do").choices(["publish", "list"]))
    .addOption(natsOption())
    .addOption(jsonOption("list: one JSON array instead of a table (publish always prints JSON)"));
  helpFooter(cmd, {
    environment: NATS_ENVIRONMENT,
    exitCodes: { 0: "ok", 1: "failed (the reason is printed)", 2: "bad arguments" },
  });
}

/** `esper blueprints publish|list`: the Urza catalog from the command line. */
export async function action(cmd: Command): Promise<number> {
  const verb = cmd.args[0] as "publish" | "list";
  const { nats, json } = cmd.opts<{ nats?: string; json?: true }>();
  if (verb === "publish" && json === true) usageError(cmd, "publish always prints JSON; --json is for list");
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
      process.stdout.write(`${json === true ? JSON.stringify(descriptors) : catalogTable(descriptors)}\n`);
    }
    return 0;
  } catch (error) {
    process.stderr.write(`esper blueprints ${verb}: ${errorText(error)}\n`);
    return 1;
  } finally {
    await conn?.close();
  }
}
