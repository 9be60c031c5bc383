import { performance } from "node:perf_hooks";
import type { BlueprintDescriptor } from "../../contracts/index.ts";
import { createSession, floatFeed, floatResult } from "../../nn/model/session.ts";
import { KernelPrewarmError } from "./errors.ts";

/**
 * Loads a kernel artifact into ONNX Runtime and runs it once on a zero row `x` [1, inputWidth]; returns
 * the milliseconds this took. Throws KernelPrewarmError when the session cannot be created or run, or
 * when `y` is not [1, outputWidth] of finite values.
 */
export async function prewarmKernel(bytes: Uint8Array, d: BlueprintDescriptor): Promise<number> {
  const start = performance.now();
  const fail = (what: string, cause?: unknown): KernelPrewarmError =>
    new KernelPrewarmError(
      `kernel ${d.blueprintId} (${d.artifactSha256}) ${what}`,
      cause === undefined ? undefined : { cause },
    );
  let session: Awaited<ReturnType<typeof createSession>>;
  try {
    session = await createSession(bytes, { intraOpNumThreads: 1 });
  } catch (err) {
    throw fail(`does not load in ONNX Runtime: ${(err as Error).message}`, err);
  }
  try {
    let y: Float32Array;
    try {
      const out = await session.run({ x: floatFeed(new Float32Array(d.inputWidth), [1, d.inputWidth]) });
      y = floatResult(out, "y");
    } catch (err) {
      throw fail(`does not run on x [1, ${d.inputWidth}]: ${(err as Error).message}`, err);
    }
    if (y.length !== d.outputWidth) throw fail(`gave ${y.length} outputs, expected ${d.outputWidth}`);
    if (!y.every(Number.isFinite)) throw fail("gave non-finite outputs on a zero input");
  } finally {
    await session.release();
  }
  return performance.now() - start;
}
