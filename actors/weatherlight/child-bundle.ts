import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { StaleActorBundleError } from "./errors.ts";

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const ENTRY = fileURLToPath(new URL("./child-entry.ts", import.meta.url));

/** Where the actor-child bundle lives: its entry, its chunks and their source maps. */
export const ACTOR_BUNDLE_DIR = join(REPO_ROOT, "dist", "actor-child");

/**
 * The entry of the bundle Weatherlight runs its actor children from (`node <this> <actor>`): the
 * actors' TypeScript and most npm packages compiled to ES modules, one chunk per actor loaded on
 * demand (so an actor parses only its own code). A child started from it skips tsx's per-module loader
 * hooks: about 1.5 s less CPU per start on the project's machine.
 */
export const ACTOR_BUNDLE = join(ACTOR_BUNDLE_DIR, "actor-child.mjs");

/** The command that builds the bundle, named in every staleness error. */
export const BUILD_COMMAND = "npm run build";

/** Packages left out of the bundle: onnxruntime-node (native), pino and pino-pretty (workers by file path). */
export const UNBUNDLED_PACKAGES = ["onnxruntime-node", "pino", "pino-pretty"] as const;

const REQUIRE_FACTORY = "__esperCreateRequire";

/** The name each bundled source's own file URL is declared under (the value of its `import.meta.url`). */
const SOURCE_URL = "__esperSourceUrl";

/** The entry's line before its source-map comment: what the bundle was built from, and when. */
const MANIFEST_PREFIX = "// esper-actor-bundle ";

/** What the bundle was built from: its inputs, its other files, and when the build began. */
export interface ActorBundleManifest {
  /** Date.now() when the build began: an input modified later is not in the bundle. */
  readonly builtFromMs: number;
  /** Every source file in the bundle (ours and the bundled packages'), relative to the repository root. */
  readonly inputs: readonly string[];
  /** The chunks and source maps beside the entry, by file name. */
  readonly files: readonly string[];
}

/** What a build reads and writes: the repository (paths in the manifest are relative to it), the entry source, the output directory. */
export interface ActorBundleLayout {
  readonly root: string;
  readonly entry: string;
  readonly outDir: string;
}

/** The repository's actor-child bundle: child-entry.ts into ACTOR_BUNDLE_DIR. */
export const ACTOR_BUNDLE_LAYOUT: ActorBundleLayout = {
  root: REPO_ROOT,
  entry: ENTRY,
  outDir: ACTOR_BUNDLE_DIR,
};

/** The entry file a build of `layout` writes (`<outDir>/actor-child.mjs`). */
export function bundleEntryOf(layout: ActorBundleLayout): string {
  return join(layout.outDir, "actor-child.mjs");
}

/** A build: where the entry is, how many sources the bundle holds, how long the build took. */
export interface ActorBundleBuild {
  readonly path: string;
  readonly inputs: number;
  readonly buildMs: number;
}

/**
 * Builds the bundle into ACTOR_BUNDLE_DIR with esbuild (loaded only here: an actor never needs it).
 * `import.meta.url` in each source is replaced by that source's own file URL, so paths it resolves
 * (the shipped policy, a script beside it) stay those of the source tree; any other
 * `import.meta.<name>` fails the build. Chunks are named by content hash and written first, each to
 * a temporary file renamed into place; the entry, with the manifest, is renamed in last; files of
 * earlier builds are then removed. A concurrent build of other sources may remove this build's
 * chunks: the staleness check sees that and the next `ensureActorBundle` rebuilds.
 */
export async function buildActorBundle(
  layout: ActorBundleLayout = ACTOR_BUNDLE_LAYOUT,
): Promise<ActorBundleBuild> {
  const builtFromMs = Date.now();
  const entryPath = bundleEntryOf(layout);
  const { build } = await import("esbuild");
  const result = await build({
    absWorkingDir: layout.root,
    entryPoints: { "actor-child": layout.entry },
    bundle: true,
    splitting: true,
    // Native or loading files by path at run time: node loads them from node_modules.
    external: [...UNBUNDLED_PACKAGES],
    platform: "node",
    format: "esm",
    target: "node20",
    outdir: layout.outDir,
    outExtension: { ".js": ".mjs" },
    chunkNames: "[name]-[hash]",
    sourcemap: "linked",
    write: false,
    metafile: true,
    logLevel: "silent",
    // Bundled CommonJS packages call require() for node built-ins.
    banner: {
      js: `import { createRequire as ${REQUIRE_FACTORY} } from "node:module"; const require = ${REQUIRE_FACTORY}(import.meta.url);`,
    },
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
  const entry = result.outputFiles.find((f) => f.path === entryPath);
  if (entry === undefined) throw new Error(`esbuild produced no ${entryPath}`);
  const others = result.outputFiles.filter((f) => f !== entry);
  const files = others.map((f) => basename(f.path)).sort();
  const manifest: ActorBundleManifest = { builtFromMs, inputs, files };
  const mapComment = entry.text.lastIndexOf("//# sourceMappingURL=");
  if (mapComment < 0) throw new Error(`esbuild wrote ${entryPath} without its source-map comment`);
  const entryText = `${entry.text.slice(0, mapComment)}${manifestComment(manifest)}${entry.text.slice(mapComment)}`;
  mkdirSync(layout.outDir, { recursive: true });
  for (const file of others) writeAtomically(file.path, file.contents);
  writeAtomically(entryPath, entryText);
  const kept = new Set([basename(entryPath), ...files]);
  for (const name of readdirSync(layout.outDir)) {
    if (!kept.has(name) && !name.endsWith(".tmp")) rmSync(join(layout.outDir, name), { force: true });
  }
  return { path: entryPath, inputs: inputs.length, buildMs: Date.now() - builtFromMs };
}

function writeAtomically(path: string, contents: string | Uint8Array): void {
  const temp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  writeFileSync(temp, contents);
  renameSync(temp, path);
}

/** The manifest as the entry holds it: one comment line. */
export function manifestComment(manifest: ActorBundleManifest): string {
  return `${MANIFEST_PREFIX}${JSON.stringify(manifest)}\n`;
}

/** The manifest in the entry at `path`, or undefined when the file is missing or has none. */
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
 * Why the bundle whose entry is `path` cannot be run as it is (missing, without a manifest, one of
 * its chunks gone, a source deleted or modified after its build began), or undefined when it is
 * whole and every source it holds is older than its build. Sources new to the graph need an edit of
 * a file already in it, so they are caught too. Inputs are relative to `root`.
 */
export function actorBundleStaleness(
  path: string = ACTOR_BUNDLE,
  root: string = REPO_ROOT,
): string | undefined {
  const shown = relative(root, path);
  const manifest = readBundleManifest(path);
  if (manifest === undefined) return `${shown} is missing or has no manifest`;
  for (const file of manifest.files) {
    try {
      statSync(join(path, "..", file));
    } catch {
      return `${file}, part of ${shown}, is missing`;
    }
  }
  for (const input of manifest.inputs) {
    let mtimeMs: number;
    try {
      mtimeMs = statSync(join(root, input)).mtimeMs;
    } catch {
      return `${input}, bundled in ${shown}, no longer exists`;
    }
    if (mtimeMs >= manifest.builtFromMs) return `${input} changed after ${shown} was built`;
  }
  return undefined;
}

/** The bundle's entry when it is up to date; else StaleActorBundleError naming BUILD_COMMAND. */
export function freshActorBundle(layout: ActorBundleLayout = ACTOR_BUNDLE_LAYOUT): string {
  const entry = bundleEntryOf(layout);
  const stale = actorBundleStaleness(entry, layout.root);
  if (stale !== undefined) throw new StaleActorBundleError(stale, BUILD_COMMAND);
  return entry;
}

/** Builds the bundle when it is not up to date (`esper up` does before spawning); `built` says whether it did. */
export async function ensureActorBundle(
  layout: ActorBundleLayout = ACTOR_BUNDLE_LAYOUT,
): Promise<{ readonly path: string; readonly built: boolean }> {
  const entry = bundleEntryOf(layout);
  if (actorBundleStaleness(entry, layout.root) === undefined) return { path: entry, built: false };
  await buildActorBundle(layout);
  return { path: freshActorBundle(layout), built: true };
}
