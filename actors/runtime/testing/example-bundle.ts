import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const ENTRY = fileURLToPath(new URL("./example-actor.ts", import.meta.url));

/**
 * Bundles the example actor (with its dependencies) into one ES module under `dir` and returns its
 * path. The end-to-end tests start it with plain `node`: a child then needs a fraction of the CPU
 * time a `--import tsx` start takes, which matters when many children start at once.
 */
export async function bundleExampleActor(dir: string): Promise<string> {
  const outfile = join(dir, "example-actor.mjs");
  await build({
    entryPoints: [ENTRY],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    outfile,
    logLevel: "warning",
    banner: {
      js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
  });
  return outfile;
}
