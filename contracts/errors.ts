import type { z } from "zod";

/** One problem found in a message: where (field path) and what. */
export interface ContractIssue {
  readonly path: readonly (string | number)[];
  readonly reason: string;
}

/** A message failed to encode, decode or validate. Names the message type and the field path. */
export class ContractError extends Error {
  override readonly name = "ContractError";
  /** The first issue's path, e.g. `["seedStates", 3, "stage"]`; empty for whole-message problems. */
  readonly path: readonly (string | number)[];
  readonly reason: string;

  constructor(
    readonly messageType: string,
    readonly issues: readonly ContractIssue[],
  ) {
    const first = issues[0] ?? { path: [], reason: "invalid" };
    super(
      `${messageType}: ${formatPath(first.path)}: ${first.reason}${issues.length > 1 ? ` (+${issues.length - 1} more)` : ""}`,
    );
    this.path = first.path;
    this.reason = first.reason;
  }

  /** The dotted field path of the first issue (`<root>` for the whole message). */
  get field(): string {
    return formatPath(this.path);
  }

  /** Builds the error from zod's issues. */
  static fromZod(messageType: string, error: z.ZodError): ContractError {
    const issues: ContractIssue[] = [];
    for (const i of error.issues) {
      const path = i.path.map((p) => (typeof p === "symbol" ? String(p) : p));
      if (i.code === "unrecognized_keys") {
        for (const key of i.keys) issues.push({ path: [...path, key], reason: "unknown key" });
      } else issues.push({ path, reason: i.message });
    }
    return new ContractError(messageType, issues);
  }
}

/** `a.b[3].c`-style rendering of a path. */
export function formatPath(path: readonly (string | number)[]): string {
  if (path.length === 0) return "<root>";
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("");
}
