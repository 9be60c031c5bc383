import { openBucket } from "../../bus/kv.ts";
import type { ActorDefinition } from "../runtime/actor-types.ts";
import { isProcessEntry, runMain } from "../runtime/main-entry.ts";
import { signingKeyCheck } from "../runtime/preflight-checks.ts";
import { CatalogView } from "./catalog-view.ts";
import { createEvaluateHandler } from "./evaluate-endpoint.ts";
import { catalogCheck } from "./preflight-checks.ts";
import { RunMemories } from "./run-memories.ts";
import { RUN_MEMORY_CAPACITY } from "./settings.ts";

/**
 * Tamiyo: preflight checks the signing key and a non-empty catalog bucket; `start` subscribes to `catalog.update`
 * (re-reading a blueprint on each), loads the catalog and serves `tamiyo.evaluate` in queue group
 * `tamiyo` through the ordered mailbox `evaluate`: a decided command is published on
 * `command.<run>.kasmina` before the reply carries it.
 */
export const actor: ActorDefinition = {
  name: "tamiyo",
  preflight: [signingKeyCheck, catalogCheck],
  async start(ctx) {
    const bucket = await openBucket(ctx.bus, "catalog");
    const catalog = new CatalogView(bucket);
    ctx.subscribe("catalogUpdate", (update) => catalog.refresh(update.blueprintId), {
      mailbox: "catalog",
      mode: "ordered",
    });
    await catalog.loadAll();
    ctx.log.info({ blueprints: catalog.descriptors().length }, "tamiyo catalog loaded");
    const memories = new RunMemories(RUN_MEMORY_CAPACITY);
    ctx.serve("tamiyoEvaluate", createEvaluateHandler({ ctx, catalog, memories }), {
      queue: "tamiyo",
      mailbox: "evaluate",
      mode: "ordered",
    });
  },
};

if (isProcessEntry(import.meta.url)) await runMain(actor);
