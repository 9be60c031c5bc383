import type { PreflightCheck } from "./actor-types.ts";
import { requireKey } from "./dependency-guard.ts";

/** Preflight check for actors that sign or verify commands: ESPER_SIGNING_KEY must be set (no default exists). */
export const signingKeyCheck: PreflightCheck = {
  name: "signing-key",
  run: (ctx) => {
    requireKey("ESPER_SIGNING_KEY", ctx.process.signingKey);
  },
};
