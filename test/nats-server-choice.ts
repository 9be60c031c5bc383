/** Which kind of test server runs: the local nats-server binary or a testcontainers container. */
export type NatsServerKind = "binary" | "container";

/** The environment variable that asks for a kind of test server. */
export const TEST_NATS_ENV = "ESPER_TEST_NATS";
/** The environment variable naming the container image (e.g. the drill's `esper-standin-nats:<tag>`). */
export const TEST_NATS_IMAGE_ENV = "ESPER_TEST_NATS_IMAGE";
/** The container image when neither the caller nor ESPER_TEST_NATS_IMAGE names one. */
export const DEFAULT_TEST_NATS_IMAGE = "nats:2.9.10-alpine";

/** The container image: the caller's, else `ESPER_TEST_NATS_IMAGE` when set and not empty, else the default. */
export function testNatsImage(given: string | undefined, env: string | undefined): string {
  if (given !== undefined) return given;
  return env !== undefined && env !== "" ? env : DEFAULT_TEST_NATS_IMAGE;
}

/** What the machine offers, probed only when the choice needs it. */
export interface NatsServerProbes {
  /** Absolute path of the `nats-server` executable on PATH, or undefined. */
  binary(): string | undefined;
  /** Whether a Docker engine answers, and which socket (or why not). */
  docker(): Promise<{ readonly reachable: boolean; readonly why: string }>;
  /** Whether the engine already holds `image` (so starting it needs no pull). */
  imagePresent(image: string): Promise<boolean>;
}

/** The server to start and why it was chosen. */
export interface NatsServerChoice {
  readonly kind: NatsServerKind;
  /** The binary's path or the container image. */
  readonly target: string;
  readonly why: string;
}

/** No test server of an allowed kind can be started; the message says what to install or set. */
export class NoNatsServerError extends Error {
  override readonly name = "NoNatsServerError";
}

const INSTALL = "install the Debian package nats-server (apt-get install nats-server)";

/**
 * Chooses the test server. `mode` is the value of `ESPER_TEST_NATS`:
 * - `container`: a container of `image` (pulled if needed); an error when no Docker engine answers.
 * - `binary`: the local `nats-server`; an error naming the Debian package when it is not on PATH.
 * - unset or "": the local binary; without it, a container only when the engine already holds `image`
 *   (an engine that cannot pull never breaks a run); else an error naming the Debian package.
 * Any other value is an error naming the variable.
 */
export async function chooseNatsServer(
  mode: string | undefined,
  image: string,
  probes: NatsServerProbes,
): Promise<NatsServerChoice> {
  if (mode === "container") {
    const docker = await probes.docker();
    if (!docker.reachable)
      throw new NoNatsServerError(`${TEST_NATS_ENV}=container but no Docker engine answers (${docker.why})`);
    return { kind: "container", target: image, why: `${TEST_NATS_ENV}=container (engine ${docker.why})` };
  }
  if (mode === "binary") {
    const binary = probes.binary();
    if (binary === undefined)
      throw new NoNatsServerError(`${TEST_NATS_ENV}=binary but nats-server is not on PATH: ${INSTALL}`);
    return { kind: "binary", target: binary, why: `${TEST_NATS_ENV}=binary` };
  }
  if (mode !== undefined && mode !== "") {
    throw new NoNatsServerError(`${TEST_NATS_ENV} must be 'binary', 'container' or unset, got '${mode}'`);
  }
  const binary = probes.binary();
  if (binary !== undefined) return { kind: "binary", target: binary, why: "default: the local binary" };
  const docker = await probes.docker();
  if (docker.reachable && (await probes.imagePresent(image))) {
    return {
      kind: "container",
      target: image,
      why: `nats-server is not on PATH and the Docker engine (${docker.why}) already holds ${image}`,
    };
  }
  const container = docker.reachable
    ? `the Docker engine does not hold ${image} (set ${TEST_NATS_ENV}=container to pull it)`
    : `no Docker engine answers (${docker.why})`;
  throw new NoNatsServerError(
    `no NATS server for tests: nats-server is not on PATH and ${container}: ${INSTALL}`,
  );
}
