/** A nonce registered twice: the verifier must check `has` before `register`. */
export class DuplicateNonceError extends Error {
  override readonly name = "DuplicateNonceError";
  constructor(readonly nonce: string) {
    super(`nonce ${nonce} is already in the ledger: check it before registering`);
  }
}

/** No signing key: commands cannot be verified, and there is no default key. */
export class MissingSigningKeyError extends Error {
  override readonly name = "MissingSigningKeyError";
  constructor() {
    super("signing key is missing or empty: set ESPER_SIGNING_KEY");
  }
}

/** A nonce ledger snapshot that cannot be restored: `field` is the path of the offending value. */
export class InvalidLedgerSnapshotError extends Error {
  override readonly name = "InvalidLedgerSnapshotError";
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`snapshot ${field}: ${problem}`);
  }
}
