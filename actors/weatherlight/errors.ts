/** A child process could not be started at all (e.g. the executable is missing). */
export class ChildSpawnError extends Error {
  override readonly name = "ChildSpawnError";
  constructor(
    readonly actor: string,
    override readonly cause: Error,
  ) {
    super(`could not start actor ${actor}: ${cause.message}`);
  }
}

/** An actor child exited, or missed its ready deadline, before it was ready. */
export class ActorNotReadyError extends Error {
  override readonly name = "ActorNotReadyError";
  constructor(
    readonly actor: string,
    readonly problem: string,
    readonly stderrTail: readonly string[],
  ) {
    const tail =
      stderrTail.length === 0
        ? " (no stderr output)"
        : `; last stderr lines:\n${stderrTail.map((l) => `  ${l}`).join("\n")}`;
    super(`actor ${actor} did not become ready: ${problem}${tail}`);
  }
}

/** A message fed to the run summary is not of this run or misses a field the summary needs. */
export class SummaryInputError extends Error {
  override readonly name = "SummaryInputError";
  constructor(
    readonly messageType: string,
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${messageType}: ${field} ${problem}`);
  }
}

/** The run directory cannot be used: it is not a directory, or its run id is not a safe path token. */
export class RunDirectoryError extends Error {
  override readonly name: string = "RunDirectoryError";
  constructor(
    readonly dir: string,
    readonly problem: string,
  ) {
    super(`run directory ${dir}: ${problem}`);
  }
}

/** A summary that does not satisfy the summary.json schema; lists each field and its problem. */
export class InvalidSummaryError extends Error {
  override readonly name = "InvalidSummaryError";
  constructor(readonly issues: readonly { readonly field: string; readonly problem: string }[]) {
    super(`invalid run summary:\n${issues.map((i) => `  ${i.field}: ${i.problem}`).join("\n")}`);
  }
}

/** The run directory exists and holds files: a run never overwrites another run's results. */
export class RunDirectoryNotEmptyError extends Error {
  override readonly name = "RunDirectoryNotEmptyError";
  constructor(
    readonly dir: string,
    readonly entries: readonly string[],
  ) {
    super(
      `run directory ${dir} already exists and is not empty (${entries.slice(0, 5).join(", ")}${entries.length > 5 ? ", …" : ""}): pass another --run-dir or remove it`,
    );
  }
}

/** The actor-child bundle is missing or older than its sources: a child would run stale code. */
export class StaleActorBundleError extends Error {
  override readonly name = "StaleActorBundleError";
  constructor(
    readonly problem: string,
    readonly buildCommand: string,
  ) {
    super(`the actor-child bundle cannot be used: ${problem}; run \`${buildCommand}\``);
  }
}
