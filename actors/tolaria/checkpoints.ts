import { createHash } from "node:crypto";
import { mkdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { decodeMsgpack } from "../../contracts/msgpack-decode.ts";
import { encodeMsgpack } from "../../contracts/msgpack-encode.ts";
import { writeFileAtomically } from "../runtime/atomic-file.ts";
import {
  type CheckpointEntry,
  type CheckpointManifest,
  MANIFEST_FILE,
  parseManifest,
} from "./checkpoint-manifest.ts";
import type { TrainerSnapshot } from "./trainer-snapshot.ts";

/** A checkpoint file that does not match its manifest entry (size or sha256): it is not loaded. */
export class CorruptCheckpointError extends Error {
  override readonly name = "CorruptCheckpointError";
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`checkpoint ${file} is corrupt: ${problem}`);
  }
}

/**
 * The durable rollback tier: each checkpoint a msgpack file `ckpt-step-<step>.bin` written atomically
 * (temporary file, fsync, rename, directory fsync), then listed with its size and sha256 in
 * `manifest.json` (written the same way). A load checks size and digest before decoding anything.
 * A write keeps the newest `keep` checkpoints: older ones leave the manifest, then their files are deleted.
 */
export class CheckpointStore {
  private constructor(
    readonly dir: string,
    private readonly keep: number,
    private manifest: CheckpointManifest,
  ) {}

  /**
   * Opens (creating it when absent) the checkpoint directory and reads its manifest if there is one;
   * writes keep the newest `keep` checkpoints (`tolaria.rollback.keepCheckpoints`).
   */
  static async open(dir: string, keep: number): Promise<CheckpointStore> {
    if (!Number.isInteger(keep) || keep < 1)
      throw new RangeError(`keep must be an integer >= 1, got ${keep}`);
    await mkdir(dir, { recursive: true });
    const path = join(dir, MANIFEST_FILE);
    let text: string | undefined;
    try {
      text = await readFile(path, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
    return new CheckpointStore(
      dir,
      keep,
      text === undefined ? { version: 1, checkpoints: [] } : parseManifest(text, path),
    );
  }

  /** The checkpoints, oldest first. */
  get entries(): readonly CheckpointEntry[] {
    return this.manifest.checkpoints;
  }

  /** Writes `snap` as the checkpoint of `step` and lists it in the manifest. */
  async write(snap: TrainerSnapshot, epoch: number, nowMs: number): Promise<CheckpointEntry> {
    const step = snap.progress.steps;
    const bytes = encodeMsgpack(toPlain(snap));
    const id = `ckpt-step-${String(step).padStart(8, "0")}`;
    const entry: CheckpointEntry = {
      id,
      file: `${id}.bin`,
      step,
      epoch,
      bytes: bytes.byteLength,
      sha256: createHash("sha256").update(bytes).digest("hex"),
      writtenAtMs: nowMs,
    };
    await writeFileAtomically(join(this.dir, entry.file), [bytes]);
    const listed = [...this.manifest.checkpoints.filter((c) => c.id !== id), entry];
    const manifest: CheckpointManifest = { version: 1, checkpoints: listed.slice(-this.keep) };
    await writeFileAtomically(join(this.dir, MANIFEST_FILE), [
      new TextEncoder().encode(`${JSON.stringify(manifest, null, 2)}\n`),
    ]);
    this.manifest = manifest;
    for (const old of listed.slice(0, -this.keep)) await rm(join(this.dir, old.file), { force: true });
    return entry;
  }

  /**
   * Loads a checkpoint (the newest when `id` is not given); CorruptCheckpointError when size or sha256
   * differ. `signal` cancels the load (the read is aborted; nothing is decoded after it fired).
   */
  async load(
    id?: string,
    signal?: AbortSignal,
  ): Promise<{ entry: CheckpointEntry; snapshot: TrainerSnapshot }> {
    const entry =
      id === undefined
        ? this.manifest.checkpoints.at(-1)
        : this.manifest.checkpoints.find((c) => c.id === id);
    if (entry === undefined)
      throw new Error(
        id === undefined
          ? `no checkpoint in ${this.dir}`
          : `checkpoint ${id} is not in the manifest of ${this.dir}`,
      );
    const path = join(this.dir, entry.file);
    const bytes = await readFile(path, signal === undefined ? {} : { signal });
    if (bytes.byteLength !== entry.bytes)
      throw new CorruptCheckpointError(path, `${bytes.byteLength} bytes, the manifest says ${entry.bytes}`);
    const digest = createHash("sha256").update(bytes).digest("hex");
    if (digest !== entry.sha256)
      throw new CorruptCheckpointError(path, `sha256 ${digest}, the manifest says ${entry.sha256}`);
    signal?.throwIfAborted();
    return { entry, snapshot: fromPlain(decodeMsgpack(bytes)) };
  }
}

function toPlain(snap: TrainerSnapshot): unknown {
  const groups = [...snap.training.optimizer.groups].map(([name, g]) => {
    if (typeof g.lr !== "number")
      throw new Error(
        `optimizer group '${name}' has a learning-rate schedule: a checkpoint holds numbers only`,
      );
    return { name, params: g.params, step: g.step, lr: g.lr, hyper: g.hyper, slots: g.slots };
  });
  return {
    params: [...snap.training.params.tensors].map(([name, t]) => ({ name, shape: t.shape, data: t.data })),
    optimizer: { family: snap.training.optimizer.family, groups },
    seeds: snap.seeds,
    progress: snap.progress,
  };
}

interface PlainSnapshot {
  params: { name: string; shape: number[]; data: Float32Array }[];
  optimizer: {
    family: string;
    groups: {
      name: string;
      params: string[];
      step: number;
      lr: number;
      hyper: object;
      slots: Float32Array[][];
    }[];
  };
  seeds: TrainerSnapshot["seeds"];
  progress: TrainerSnapshot["progress"];
}

/** The decoded checkpoint as a TrainerSnapshot (its bytes matched the manifest's sha256). */
function fromPlain(value: unknown): TrainerSnapshot {
  const p = value as PlainSnapshot;
  return {
    training: {
      params: { tensors: new Map(p.params.map((t) => [t.name, { shape: t.shape, data: t.data }])) },
      optimizer: {
        family: p.optimizer.family,
        groups: new Map(
          p.optimizer.groups.map((g) => [
            g.name,
            { params: g.params, step: g.step, lr: g.lr, hyper: g.hyper, slots: g.slots },
          ]),
        ),
      },
    },
    seeds: p.seeds,
    progress: p.progress,
  };
}
