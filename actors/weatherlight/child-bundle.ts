import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { StaleActorBundleError } from "./errors.ts";

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const ENTRY = fileURLToPath(new URL("./child-entry.ts", import.meta.url));

/**
 * The bundle Weatherlight runs its actor children from (`node dist/actor-child.mjs <actor>`): every
 * actor's TypeScript in one ES module, npm packages left to node. A child started from it skips tsx's
 * per-module loader hooks (about 0.7 s of each start on the project's machine).
 */
export const ACTOR_BUNDLE = join(REPO_ROOT, "dist", "actor-child.mjs");

/** The command that builds the bundle, named in every staleness error. */
export const BUILD_COMMAND = "npm run build";

/** Packages left out of the bundle: onnxruntime-node (native), pino and pino-pretty (workers by file path). */
export const UNBUNDLED_PACKAGES = ["onnxruntime-node", "pino", "pino-pretty"] as const;

const REQUIRE_FACTORY = "__esperCreateRequire";

/** The name each bundled source's own file URL is declared under (the value of its `import.meta.url`). */
const SOURCE_URL = "__esperSourceUrl";

/** The bundle's last line before its source-map comment: what it was built from, and when. */
const MANIFEST_PREFIX = "// esper-actor-bundle ";

/** What the bundle was built from: its repo-relative TypeScript inputs and when the build began. */
export interface ActorBundleManifest {
  /** Date.now() when the build began: an input modified later is not in the bundle. */
  readonly builtFromMs: number;
  /** Every source file in the bundle, relative to the repository root. */
  readonly inputs: readonly string[];
}

/** A build: where the bundle is, how many sources it holds, how long the build took. */
export interface ActorBundleBuild {
  readonly path: string;
  readonly inputs: number;
  readonly buildMs: number;
}

/**
 * Builds ACTOR_BUNDLE with esbuild (loaded only here: an actor never needs it). `import.meta.url` in
 * each source is replaced by that source's own file URL, so paths it resolves (the shipped policy, a
 * script beside it) stay those of the source tree; any other `import.meta.<name>` fails the build. The
 * bundle and its source map are written to temporary files and renamed into place: a concurrent
 * build or a child starting meanwhile sees a whole file.
 */
export async function buildActorBundle(): Promise<ActorBundleBuild> {
  const builtFromMs = Date.now();
  const { build } = await import("esbuild");
  const result = await build({
    absWorkingDir: REPO_ROOT,
    entryPoints: [ENTRY],
    bundle: true,
    // Native or loading files by path at run time: node loads them from node_modules.
    external: [...UNBUNDLED_PACKAGES],
    // Bundled CommonJS packages call require() for node built-ins.
    banner: {
      js: `import { createRequire as ${REQUIRE_FACTORY} } from "node:module"; const require = ${REQUIRE_FACTORY}(import.meta.url);`,
    },
    platform: "node",
    format: "esm",
    target: "node20",
    outfile: ACTOR_BUNDLE,
    sourcemap: "linked",
    write: false,
    metafile: true,
    logLevel: "silent",
    // A source's `import.meta.url` becomes its own SOURCE_URL, declared at the start of its line 1.
    define: { "import.meta.url": SOURCE_URL },
    plugins: [
      {
        name: "source-url",
        setup(b) {
          b.onLoad({ filter: /\.ts$/ }, async (args) => {
            const source = await readFile(args.path, "utf8");
            const other = /\bimport\.meta\.(?!url\b)\w+/.exec(source);
            if (other !== null)
              return {
                errors: [{ text: `${other[0]} cannot be bundled (only import.meta.url): ${args.path}` }],
              };
            if (!source.includes("import.meta.url")) return { contents: source, loader: "ts" };
            const url = JSON.stringify(pathToFileURL(args.path).href);
            return { contents: `const ${SOURCE_URL} = ${url}; ${source}`, loader: "ts" };
          });
        },
      },
    ],
  });
  const inputs = Object.keys(result.metafile.inputs).sort();
  const manifest: ActorBundleManifest = { builtFromMs, inputs };
  mkdirSync(join(REPO_ROOT, "dist"), { recursive: true });
  for (const file of result.outputFiles) {
    let text = file.text;
    if (file.path === ACTOR_BUNDLE) {
      const mapComment = text.lastIndexOf("//# sourceMappingURL=");
      if (mapComment < 0) throw new Error(`esbuild wrote ${ACTOR_BUNDLE} without its source-map comment`);
      text = `${text.slice(0, mapComment)}${MANIFEST_PREFIX}${JSON.stringify(manifest)}\n${text.slice(mapComment)}`;
    }
    const temp = `${file.path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
    writeFileSync(temp, text);
    renameSync(temp, file.path);
  }
  return { path: ACTOR_BUNDLE, inputs: inputs.length, buildMs: Date.now() - builtFromMs };
}

/** The manifest inside the bundle at `path`, or undefined when the file is missing or has none. */
export function readBundleManifest(path: string = ACTOR_BUNDLE): ActorBundleManifest | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  const at = text.lastIndexOf(`\n${MANIFEST_PREFIX}`);
  if (at < 0) return undefined;
  const line = text.slice(at + 1 + MANIFEST_PREFIX.length, text.indexOf("\n", at + 1));
  return JSON.parse(line) as ActorBundleManifest;
}

/**
 * Why the bundle at `path` cannot be run as it is (missing, without a manifest, a source deleted or
 * modified after its build began), or undefined when every source it holds is older than its build.
 * Sources new to the graph need an edit of a file already in it, so they are caught too.
 */
export function actorBundleStaleness(path: string = ACTOR_BUNDLE): string | undefined {
  const manifest = readBundleManifest(path);
  if (manifest === undefined) return `${relative(REPO_ROOT, path)} is missing or has no manifest`;
  for (const input of manifest.inputs) {
    let mtimeMs: number;
    try {
      mtimeMs = statSync(join(REPO_ROOT, input)).mtimeMs;
    } catch {
      return `${input}, bundled in ${relative(REPO_ROOT, path)}, no longer exists`;
    }
    if (mtimeMs >= manifest.builtFromMs)
      return `${input} changed after ${relative(REPO_ROOT, path)} was built`;
  }
  return undefined;
}

/** ACTOR_BUNDLE when it is up to date; else StaleActorBundleError naming BUILD_COMMAND. */
export function freshActorBundle(): string {
  const stale = actorBundleStaleness();
  if (stale !== undefined) throw new StaleActorBundleError(stale, BUILD_COMMAND);
  return ACTOR_BUNDLE;
}

/** Builds ACTOR_BUNDLE when it is not up to date (`esper up` does before spawning); `built` says whether it did. */
export async function ensureActorBundle(): Promise<{ readonly path: string; readonly built: boolean }> {
  if (actorBundleStaleness() === undefined) return { path: ACTOR_BUNDLE, built: false };
  await buildActorBundle();
  return { path: freshActorBundle(), built: true };
}
