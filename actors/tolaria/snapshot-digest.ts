import { createHash } from "node:crypto";
import type { TrainingSnapshot } from "../../nn/optim/training-snapshot.ts";
import type { TrainerSnapshot } from "./trainer-snapshot.ts";

/**
 * sha256 (hex) of a training state's parameters and optimizer state: each parameter in name order
 * (name, shape, bytes), then each optimizer group in name order (name, step, learning rate, every slot
 * array's bytes). Equal digests mean the two states are equal bit for bit.
 */
export function trainingDigest(training: TrainingSnapshot<object>): string {
  const h = createHash("sha256");
  const params = [...training.params.tensors].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [name, t] of params) {
    h.update(`param ${name} [${t.shape.join(",")}]\n`);
    h.update(bytesOf(t.data));
  }
  const groups = [...training.optimizer.groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [name, g] of groups) {
    h.update(`group ${name} step ${g.step} lr ${String(g.lr)} params ${g.params.join(",")}\n`);
    for (const slot of g.slots) for (const arr of slot) h.update(bytesOf(arr));
  }
  return h.digest("hex");
}

/** The seed ids a restore of `snap` removes (live now, not in the snapshot) and restores (the other way). */
export function seedChanges(
  liveSeedIds: readonly string[],
  snap: TrainerSnapshot,
): { readonly removed: string[]; readonly restored: string[] } {
  const inSnap = new Set(snap.seeds.map((s) => s.seedId));
  const live = new Set(liveSeedIds);
  return {
    removed: liveSeedIds.filter((id) => !inSnap.has(id)),
    restored: [...inSnap].filter((id) => !live.has(id)),
  };
}

function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}
