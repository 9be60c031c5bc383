import type { SeedDirective } from "../../contracts/messages/seed.ts";

/** A fetched kernel artifact whose sha256 is not the directive's `kernel.checksum`: the graft is refused. */
export class KernelChecksumError extends Error {
  override readonly name = "KernelChecksumError";
  constructor(
    readonly seedId: string,
    readonly artifactRef: string,
    /** The directive's `kernel.checksum`. */
    readonly expected: string,
    /** sha256 of the bytes `fetchKernel` returned. */
    readonly actual: string,
  ) {
    super(
      `graft '${seedId}' refused: kernel artifact ${artifactRef} has sha256 ${actual}, the directive's checksum is ${expected}`,
    );
  }
}

/** A seed's directives skip a sequence number: `missing` never arrived while later ones did. */
export class DirectiveGapError extends Error {
  override readonly name = "DirectiveGapError";
  constructor(
    readonly seedId: string,
    /** The next sequence the seed needs. */
    readonly missing: number,
    /** The sequences queued for the seed, ascending. */
    readonly queued: readonly number[],
  ) {
    super(
      `seed '${seedId}': directive sequence ${missing} is missing (queued: ${queued.join(", ")}); directives are applied in order`,
    );
  }
}

/** A directive that cannot be applied as asked (unknown seed, wrong slot, unsupported field); nothing changed. */
export class DirectiveRefusedError extends Error {
  override readonly name = "DirectiveRefusedError";
  constructor(
    readonly directive: Pick<SeedDirective, "directiveId" | "seedId" | "action" | "sequence">,
    readonly reason: string,
  ) {
    super(
      `directive ${directive.directiveId} (${directive.action} seed '${directive.seedId}', sequence ${directive.sequence}) refused: ${reason}`,
    );
  }
}
