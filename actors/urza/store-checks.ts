import { streamExists } from "../../bus/jetstream/context.ts";
import { storeName } from "../../contracts/stores.ts";
import type { PreflightCheck } from "../runtime/actor-types.ts";
import { UrzaStoreMissingError } from "./errors.ts";

/**
 * Preflight check: the `catalog` KV bucket and the `kernels` object store exist. Urza never creates
 * them; a missing one is a UrzaStoreMissingError naming it and `esper resources ensure`.
 */
export const urzaStoresCheck: PreflightCheck = {
  name: "urza-stores",
  async run(ctx) {
    const catalog = storeName(ctx.bus.namespace, "catalog");
    if (!(await streamExists(ctx.bus, `KV_${catalog}`)))
      throw new UrzaStoreMissingError(`KV bucket ${catalog}`);
    const kernels = storeName(ctx.bus.namespace, "kernels");
    if (!(await streamExists(ctx.bus, `OBJ_${kernels}`)))
      throw new UrzaStoreMissingError(`object store ${kernels}`);
  },
};
