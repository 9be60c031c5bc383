import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, readFileSync, realpathSync } from "node:fs";
import { cp, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { findExecutable } from "../../bus/server/executable-path.ts";
import { machineDebianMirror } from "./debian-mirror.ts";
import { DrillError } from "./drill-error.ts";
import { runTool, runToolOk } from "./tool-process.ts";

/** The official images the Dockerfile and docker-compose.yml default to. */
export const OFFICIAL_NODE_IMAGE = "node:20-bookworm-slim";
export const OFFICIAL_NATS_IMAGE = "nats:2.12-alpine";

/** JetStream settings files of deploy/nats by server version (2.9 refuses `sync_interval`). */
export const JETSTREAM_CONF = {
  syncAlways: "./deploy/nats/jetstream-sync-always.conf",
  v2_9: "./deploy/nats/jetstream-2.9.conf",
} as const;

/** What the stand-in images are made of; any change gives other tags. */
export interface StandInInputs {
  readonly suite: string;
  readonly mirror: string;
  /** Debian packages added to the minbase system. */
  readonly packages: readonly string[];
  /** sha256 of the Node binary copied in. */
  readonly nodeSha256: string;
  readonly npmVersion: string;
  /** sha256 of package-lock.json and .npmrc (the npm cache baked into the Node base follows them). */
  readonly npmInputsSha256: string;
}

/** The stand-in images' names: `esper-standin-debian`, `-nats` (Debian's tag) and `-node20` (its own tag). */
export interface StandInTags {
  readonly debian: string;
  readonly nats: string;
  readonly node: string;
}

/** Bumped when the way the stand-ins are built changes. */
const RECIPE = "esper-standin-v1";

const sha256 = (...parts: readonly string[]): string =>
  createHash("sha256").update(parts.join("\u0000")).digest("hex").slice(0, 12);

/** The content tags of the stand-in images: Debian's (and NATS's) from the system, Node's also from Node and npm. */
export function standInTags(inputs: StandInInputs): StandInTags {
  const debianTag = sha256(RECIPE, inputs.suite, inputs.mirror, [...inputs.packages].sort().join(","));
  const nodeTag = sha256(RECIPE, debianTag, inputs.nodeSha256, inputs.npmVersion, inputs.npmInputsSha256);
  return {
    debian: `esper-standin-debian:${debianTag}`,
    nats: `esper-standin-nats:${debianTag}`,
    node: `esper-standin-node20:${nodeTag}`,
  };
}

/** The base images a drill builds on. */
export interface BaseImages {
  /** `official` when both official images are held or could be pulled; else `stand-in`. */
  readonly kind: "official" | "stand-in";
  /** Why the stand-ins are used (the pull's error), when they are. */
  readonly why?: string;
  /** The Dockerfile's BASE. */
  readonly esperBase: string;
  readonly natsImage: string;
  readonly natsVersion: string;
  /** The compose file's NATS_JETSTREAM_CONF fitting the server's version. */
  readonly jetstreamConf: string;
  /** Whether every stand-in image was already built (nothing was debootstrapped). */
  readonly cached: boolean;
}

/** The JetStream settings file for a `nats-server --version` output: 2.9 and older refuse `sync_interval`. */
export function jetstreamConfFor(versionOutput: string): string {
  const m = versionOutput.match(/v?(\d+)\.(\d+)\.\d+/);
  if (m === null) throw new DrillError(`cannot read a nats-server version from '${versionOutput.trim()}'`);
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major > 2 || (major === 2 && minor >= 10) ? JETSTREAM_CONF.syncAlways : JETSTREAM_CONF.v2_9;
}

async function imagePresent(image: string): Promise<boolean> {
  return (await runTool("docker", ["image", "inspect", image], { timeoutMs: 30_000 })).code === 0;
}

/** Whether `image` is held or can be pulled; the pull's error when not. */
async function pullable(image: string): Promise<{ ok: true } | { ok: false; why: string }> {
  if (await imagePresent(image)) return { ok: true };
  const r = await runTool("docker", ["pull", image], { timeoutMs: 300_000 });
  return r.code === 0
    ? { ok: true }
    : { ok: false, why: `docker pull ${image}: ${r.stderr.trim().split("\n")[0]}` };
}

async function fileSha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** Where this machine's npm lives (the package directory holding bin/npm-cli.js). */
function npmPackageDir(): string {
  const npm = findExecutable("npm");
  if (npm === undefined)
    throw new DrillError("npm is not on PATH (it fills the stand-in Node image's npm cache)");
  return dirname(dirname(realpathSync(npm)));
}

const DEBIAN_SUITE = "bookworm";
const DEBIAN_PACKAGES = ["nats-server", "wget"] as const;

/**
 * The base images of a drill: the official Node and NATS images when held or pullable, else stand-ins
 * built offline and kept under content tags (a second drill builds nothing): Debian `minbase` from
 * debootstrap with Debian's nats-server and wget (`esper-standin-debian`), NATS on it
 * (`esper-standin-nats`, entry point nats-server), and this machine's Node 20 and npm on it with an npm
 * cache holding the production packages of package-lock.json and `NPM_CONFIG_OFFLINE=true`
 * (`esper-standin-node20`), so the Dockerfile's own `npm ci --omit=dev` runs unchanged without a
 * registry. `log` gets a line per step.
 */
export async function ensureBaseImages(root: string, log: (line: string) => void): Promise<BaseImages> {
  const node = await pullable(OFFICIAL_NODE_IMAGE);
  const nats = node.ok ? await pullable(OFFICIAL_NATS_IMAGE) : node;
  if (node.ok && nats.ok) {
    const version = await runToolOk("docker", ["run", "--rm", OFFICIAL_NATS_IMAGE, "--version"], {
      timeoutMs: 60_000,
    });
    return {
      kind: "official",
      esperBase: OFFICIAL_NODE_IMAGE,
      natsImage: OFFICIAL_NATS_IMAGE,
      natsVersion: version.trim(),
      jetstreamConf: jetstreamConfFor(version),
      cached: true,
    };
  }
  const why = nats.ok ? "" : nats.why;
  log(`official images unavailable (${why}): stand-ins`);
  if (!process.version.startsWith("v20.")) {
    throw new DrillError(
      `the stand-in Node image copies this machine's node, which is ${process.version}, not 20`,
    );
  }
  const npmDir = npmPackageDir();
  const npmVersion = (JSON.parse(readFileSync(join(npmDir, "package.json"), "utf8")) as { version: string })
    .version;
  const tags = standInTags({
    suite: DEBIAN_SUITE,
    mirror: machineDebianMirror(DEBIAN_SUITE),
    packages: DEBIAN_PACKAGES,
    nodeSha256: await fileSha256(process.execPath),
    npmVersion,
    npmInputsSha256: sha256(
      readFileSync(join(root, "package-lock.json"), "utf8"),
      readFileSync(join(root, ".npmrc"), "utf8"),
    ),
  });
  let cached = true;
  const work = await mkdtemp(join(tmpdir(), "esper-standin-"));
  try {
    if (!(await imagePresent(tags.debian))) {
      cached = false;
      await buildDebian(tags.debian, join(work, "rootfs"), log);
    }
    if (!(await imagePresent(tags.nats))) {
      cached = false;
      await dockerBuild(
        tags.nats,
        join(work, "nats"),
        `FROM ${tags.debian}\nENTRYPOINT ["nats-server"]\n`,
        log,
      );
    }
    if (!(await imagePresent(tags.node))) {
      cached = false;
      await buildNode(root, tags, npmDir, join(work, "node"), log);
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  const version = await runToolOk("docker", ["run", "--rm", tags.nats, "--version"], { timeoutMs: 60_000 });
  return {
    kind: "stand-in",
    why,
    esperBase: tags.node,
    natsImage: tags.nats,
    natsVersion: version.trim(),
    jetstreamConf: jetstreamConfFor(version),
    cached,
  };
}

/** debootstrap (minbase + DEBIAN_PACKAGES) into `rootfs`, then `tar | docker import` as `image`. */
async function buildDebian(image: string, rootfs: string, log: (line: string) => void): Promise<void> {
  const debootstrap = findExecutable("debootstrap");
  if (debootstrap === undefined)
    throw new DrillError("debootstrap is not on PATH: apt-get install debootstrap");
  const mirror = machineDebianMirror(DEBIAN_SUITE);
  log(`debootstrap ${DEBIAN_SUITE} from ${mirror} (with ${DEBIAN_PACKAGES.join(", ")})`);
  await runToolOk(
    debootstrap,
    ["--variant=minbase", `--include=${DEBIAN_PACKAGES.join(",")}`, DEBIAN_SUITE, rootfs, mirror],
    { timeoutMs: 600_000 },
  );
  log(`docker import ${image}`);
  const tar = spawn("tar", ["-C", rootfs, "-c", "."], { stdio: ["ignore", "pipe", "inherit"] });
  await runToolOk("docker", ["import", "-", image], { timeoutMs: 600_000, stdinFrom: tar });
}

/** `docker build` (the classic builder) of `dockerfile` in `context` as `image`. */
async function dockerBuild(image: string, context: string, dockerfile: string, log: (line: string) => void) {
  await mkdir(context, { recursive: true });
  await writeFile(join(context, "Dockerfile"), dockerfile);
  log(`docker build ${image}`);
  await runToolOk("docker", ["build", "-q", "-t", image, context], {
    timeoutMs: 600_000,
    env: { ...process.env, DOCKER_BUILDKIT: "0" },
  });
}

/** The Node stand-in: Debian + this node + npm + an npm cache filled on the host by `npm ci --omit=dev`. */
async function buildNode(
  root: string,
  tags: StandInTags,
  npmDir: string,
  context: string,
  log: (line: string) => void,
): Promise<void> {
  const staging = join(context, "..", "npm-staging");
  await mkdir(staging, { recursive: true });
  for (const f of ["package.json", "package-lock.json", ".npmrc"]) await cp(join(root, f), join(staging, f));
  await mkdir(context, { recursive: true });
  log("npm ci --omit=dev on the host (fills the npm cache baked into the Node stand-in)");
  await runToolOk(
    "npm",
    ["ci", "--omit=dev", "--no-audit", "--no-fund", "--cache", join(context, "npm-cache")],
    { cwd: staging, timeoutMs: 600_000 },
  );
  await cp(process.execPath, join(context, "node"));
  await cp(npmDir, join(context, "npm"), { recursive: true });
  await dockerBuild(
    tags.node,
    context,
    [
      `FROM ${tags.debian}`,
      "COPY node /usr/local/bin/node",
      "COPY npm /usr/local/lib/node_modules/npm",
      "COPY npm-cache /var/cache/esper-npm",
      "RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm" +
        " && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx",
      "ENV NPM_CONFIG_CACHE=/var/cache/esper-npm NPM_CONFIG_OFFLINE=true",
      "",
    ].join("\n"),
    log,
  );
}
