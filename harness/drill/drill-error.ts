/** A drill step that cannot go on: the message says what failed and, where known, what would fix it. */
export class DrillError extends Error {
  override readonly name = "DrillError";
}
