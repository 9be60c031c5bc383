/** IDX file parsing (the MNIST format), unsigned-byte element type only. */

/** An IDX array of unsigned bytes. */
export interface IdxArray {
  readonly dims: readonly number[];
  readonly data: Uint8Array;
}

/**
 * Parses IDX bytes: magic 0x00 0x00 0x08 <rank>, rank big-endian uint32 dimensions, then exactly
 * Π dims bytes. `expectedRank` is checked; any mismatch is an error naming `file`.
 */
export function parseIdxUbyte(bytes: Uint8Array, expectedRank: number, file: string): IdxArray {
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0 || bytes[2] !== 0x08) {
    throw new Error(`corrupt IDX file ${file}: wrong magic (expected unsigned-byte IDX)`);
  }
  const rank = bytes[3] as number;
  if (rank !== expectedRank)
    throw new Error(`corrupt IDX file ${file}: rank ${rank}, expected ${expectedRank}`);
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes) throw new Error(`corrupt IDX file ${file}: truncated header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  let size = 1;
  for (let i = 0; i < rank; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    dims.push(d);
    size *= d;
  }
  if (bytes.length !== headerBytes + size) {
    throw new Error(
      `corrupt IDX file ${file}: ${bytes.length - headerBytes} data bytes, dimensions [${dims.join(", ")}] need ${size}`,
    );
  }
  return { dims, data: bytes.subarray(headerBytes) };
}
