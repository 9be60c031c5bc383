import { streamExists } from "../../bus/jetstream/context.ts";
import { openBucket } from "../../bus/kv.ts";
import { storeName } from "../../contracts/stores.ts";
import type { PreflightCheck } from "../runtime/actor-types.ts";
import { CatalogEmptyError, CatalogMissingError } from "./errors.ts";

/**
 * Preflight check: the `catalog` KV bucket exists (Tamiyo never creates it; missing names
 * `esper resources ensure`) and holds at least one descriptor (empty: Urza has not published).
 */
export const catalogCheck: PreflightCheck = {
  name: "catalog",
  async run(ctx) {
    const name = storeName(ctx.bus.namespace, "catalog");
    if (!(await streamExists(ctx.bus, `KV_${name}`))) throw new CatalogMissingError(name);
    const keys = await (await openBucket(ctx.bus, "catalog")).keys();
    if (keys.length === 0) throw new CatalogEmptyError(name);
  },
};
