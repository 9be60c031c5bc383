import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import {
  type ActorBundleLayout,
  actorBundleStaleness,
  buildActorBundle,
  bundleEntryOf,
  ensureActorBundle,
  freshActorBundle,
  readBundleManifest,
} from "./child-bundle.ts";
import { StaleActorBundleError } from "./errors.ts";

const run = promisify(execFile);

/** A small project in a temporary directory: an entry that prints the import.meta.url of a module it imports. */
function project(): ActorBundleLayout {
  const root = mkdtempSync(join(tmpdir(), "wl-bundle-"));
  mkdirSync(join(root, "src", "sub"), { recursive: true });
  writeFileSync(join(root, "src", "sub", "where.ts"), "export const where: string = import.meta.url;\n");
  writeFileSync(
    join(root, "src", "entry.ts"),
    'import { where } from "./sub/where.ts";\nprocess.stdout.write(where + " " + import.meta.url + "\\n");\n',
  );
  return { root, entry: join(root, "src", "entry.ts"), outDir: join(root, "dist") };
}

/** Sets a file's modification time `ms` after its bundle's build began. */
function touchAfterBuild(file: string, entry: string, ms: number): void {
  const manifest = readBundleManifest(entry);
  if (manifest === undefined) throw new Error("no manifest");
  const at = new Date(manifest.builtFromMs + ms);
  utimesSync(file, at, at);
}

describe("the actor-child bundle", { timeout: 30_000 }, () => {
  it("keeps each source's import.meta.url: a bundled module sees its own source file", async () => {
    const layout = project();
    const built = await buildActorBundle(layout);
    expect(built.path).toBe(bundleEntryOf(layout));
    const { stdout } = await run(process.execPath, [built.path]);
    expect(stdout.trim()).toBe(
      `${pathToFileURL(join(layout.root, "src", "sub", "where.ts")).href} ${pathToFileURL(layout.entry).href}`,
    );
  });

  it("records its inputs relative to the root and is fresh right after its build", async () => {
    const layout = project();
    const built = await buildActorBundle(layout);
    expect(readBundleManifest(built.path)?.inputs).toEqual(["src/entry.ts", "src/sub/where.ts"]);
    expect(actorBundleStaleness(built.path, layout.root)).toBeUndefined();
  });

  it("is stale once a source it holds is modified after its build began, naming the source", async () => {
    const layout = project();
    const built = await buildActorBundle(layout);
    touchAfterBuild(join(layout.root, "src", "sub", "where.ts"), built.path, 1);
    expect(actorBundleStaleness(built.path, layout.root)).toBe(
      "src/sub/where.ts changed after dist/actor-child.mjs was built",
    );
    await buildActorBundle(layout);
    expect(actorBundleStaleness(built.path, layout.root)).toBeUndefined();
  });

  it("is stale when a source is deleted, a file of the bundle is missing, or there is no bundle", async () => {
    const layout = project();
    const built = await buildActorBundle(layout);
    rmSync(join(layout.outDir, "actor-child.mjs.map"));
    expect(actorBundleStaleness(built.path, layout.root)).toBe(
      "actor-child.mjs.map, part of dist/actor-child.mjs, is missing",
    );
    await buildActorBundle(layout);
    rmSync(join(layout.root, "src", "sub", "where.ts"));
    expect(actorBundleStaleness(built.path, layout.root)).toBe(
      "src/sub/where.ts, bundled in dist/actor-child.mjs, no longer exists",
    );
    rmSync(layout.outDir, { recursive: true });
    expect(actorBundleStaleness(built.path, layout.root)).toBe(
      "dist/actor-child.mjs is missing or has no manifest",
    );
  });

  it("refuses import.meta other than import.meta.url, naming it and the source", async () => {
    const layout = project();
    writeFileSync(join(layout.root, "src", "sub", "where.ts"), "export const where = import.meta.dirname;\n");
    await expect(buildActorBundle(layout)).rejects.toThrow(
      /import\.meta\.dirname cannot be bundled \(only import\.meta\.url\): .*where\.ts/,
    );
  });

  it("freshActorBundle refuses a stale bundle with an error naming the build command", async () => {
    const layout = project();
    expect(() => freshActorBundle(layout)).toThrow(StaleActorBundleError);
    expect(() => freshActorBundle(layout)).toThrow(
      "the actor-child bundle cannot be used: dist/actor-child.mjs is missing or has no manifest; run `npm run build`",
    );
    await buildActorBundle(layout);
    expect(freshActorBundle(layout)).toBe(bundleEntryOf(layout));
  });

  it("ensureActorBundle builds only when the bundle is stale", async () => {
    const layout = project();
    expect(await ensureActorBundle(layout)).toEqual({ path: bundleEntryOf(layout), built: true });
    expect(await ensureActorBundle(layout)).toEqual({ path: bundleEntryOf(layout), built: false });
    touchAfterBuild(layout.entry, bundleEntryOf(layout), 1);
    expect(await ensureActorBundle(layout)).toEqual({ path: bundleEntryOf(layout), built: true });
  });
});
