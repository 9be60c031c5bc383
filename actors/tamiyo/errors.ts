/** A Tamiyo setting or construction input is missing or out of range; names the field. */
export class TamiyoSettingsError extends Error {
  override readonly name = "TamiyoSettingsError";
  constructor(
    /** Dotted path of the offending field, e.g. `blend.schedule.steps`. */
    readonly field: string,
    readonly reason: string,
  ) {
    super(`tamiyo setting ${field} ${reason}`);
  }
}

/** An input the decision needs is absent (never replaced by a default); names the thing. */
export class MissingInputError extends Error {
  override readonly name = "MissingInputError";
  constructor(
    readonly what: string,
    readonly reason: string,
  ) {
    super(`tamiyo input missing: ${what} ${reason}`);
  }
}

/** An action targets an id that the packet or the catalog does not hold. */
export class UnknownTargetError extends Error {
  override readonly name = "UnknownTargetError";
  constructor(
    readonly kind: "seed" | "slot" | "blueprint" | "trainingRun",
    readonly targetId: string,
    readonly where: string,
  ) {
    super(`${kind} id '${targetId}' is not in ${where}: a command may only target ids seen there`);
  }
}

/** An action's target id appears more than once where it must be unique. */
export class AmbiguousTargetError extends Error {
  override readonly name = "AmbiguousTargetError";
  constructor(
    readonly kind: "seed" | "slot" | "blueprint",
    readonly targetId: string,
    readonly where: string,
    readonly occurrences: number,
  ) {
    super(`${kind} id '${targetId}' appears ${occurrences} times in ${where}: ambiguous target`);
  }
}

/** An action's targets exist but do not belong together (seed and slot, slot and width, slot and kernel). */
export class TargetMismatchError extends Error {
  override readonly name = "TargetMismatchError";
  constructor(
    /** The field of the action that disagrees, e.g. `slotWidth`. */
    readonly field: string,
    readonly reason: string,
  ) {
    super(`germination ${field} ${reason}: a command may only target what the packet and the catalog hold`);
  }
}

/** The catalog KV bucket Tamiyo reads does not exist. */
export class CatalogMissingError extends Error {
  override readonly name = "CatalogMissingError";
  constructor(readonly bucket: string) {
    super(`KV bucket ${bucket} does not exist: start Weatherlight or run \`esper resources ensure\``);
  }
}

/** The catalog KV bucket holds no blueprint: Urza has not published its library. */
export class CatalogEmptyError extends Error {
  override readonly name = "CatalogEmptyError";
  constructor(readonly bucket: string) {
    super(
      `KV bucket ${bucket} holds no blueprint descriptor: Urza has not published its library (start Urza)`,
    );
  }
}

/** Tamiyo's state directory (ESPER_TAMIYO_WAL_DIR) is not set, not absolute, or not a writable directory. */
export class WalDirectoryError extends Error {
  override readonly name = "WalDirectoryError";
  constructor(
    readonly variable: string,
    readonly value: string | undefined,
    readonly reason: string,
  ) {
    super(
      `${variable}${value === undefined ? "" : `=${value}`} ${reason}: set it to an absolute path of a writable directory that outlives Tamiyo's restarts (Tamiyo keeps its field-report write-ahead log there)`,
    );
  }
}
