import { mkdtemp, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PREAMBLE_BYTES, type RecordedFrame, RecordingFormatError } from "./format.ts";
import { RecordingReader, readRecording as readAll } from "./reader.ts";
import { decodeRecordBody, encodeRecord, frameFromRecord } from "./records.ts";
import { type RecordingHeaderInput, RecordingWriter } from "./writer.ts";

const header: RecordingHeaderInput = {
  namespace: "rt",
  subjects: ["rt.>"],
  contractVersion: 1,
  tool: "format.test",
  source: { kind: "subscription" },
};

let dir: string;
let n = 0;
const tmp = (): string => join(dir, `f${n++}.esperrec`);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "esper-rec-format-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function frame(i: number, payload: Uint8Array, extra: Partial<RecordedFrame> = {}): RecordedFrame {
  return {
    subject: `rt.s.${i % 3}`,
    headers: i % 2 === 0 ? {} : { "Esper-Priority": ["2"], Multi: ["a", "b", ""] },
    payload,
    receivedAtMs: 1_700_000_000_000 + i,
    offsetUs: i * 1500,
    ...extra,
  };
}

async function writeFrames(file: string, frames: readonly RecordedFrame[], flushBytes = 64): Promise<void> {
  const w = await RecordingWriter.create(file, header, { flushBytes });
  for (const f of frames) w.append(f);
  await w.close();
}

async function formatError(p: Promise<unknown>): Promise<RecordingFormatError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RecordingFormatError);
  return err as RecordingFormatError;
}

describe("recording file format v1", () => {
  it("round-trips header and frames, including empty, binary and multi-MiB payloads", async () => {
    const big = new Uint8Array(2.5 * 1024 * 1024).map((_, i) => (i * 7) % 251);
    const frames = [
      frame(0, new Uint8Array(0)),
      frame(
        1,
        Uint8Array.from({ length: 256 }, (_, i) => i),
      ),
      frame(2, big),
      frame(3, new TextEncoder().encode("tail"), { streamSeq: 42 }),
    ];
    const file = tmp();
    const before = Date.now();
    await writeFrames(file, frames);
    const { header: back0, frames: back } = await readAll(file);
    expect(back0).toEqual({ ...header, formatVersion: 1, createdAtMs: back0.createdAtMs });
    expect(back0.createdAtMs).toBeGreaterThanOrEqual(before);
    // Payloads compared as buffers: element-wise deep equality of MiB arrays is slow.
    expect(back.map((f) => Buffer.from(f.payload).toString("base64"))).toEqual(
      frames.map((f) => Buffer.from(f.payload).toString("base64")),
    );
    expect(back.map((f) => ({ ...f, payload: null }))).toEqual(frames.map((f) => ({ ...f, payload: null })));
    expect(back[2]?.payload).toBeInstanceOf(Uint8Array);
  });

  it("writes the magic and version preamble, and a header-only file has no frames", async () => {
    const file = tmp();
    await writeFrames(file, []);
    const bytes = await readFile(file);
    expect(bytes.subarray(0, 8).toString("ascii")).toBe("ESPERREC");
    expect(bytes.readUInt32BE(8)).toBe(1);
    expect((await readAll(file)).frames).toEqual([]);
  });

  it("refuses to overwrite an existing file", async () => {
    const file = tmp();
    await writeFile(file, "keep me");
    await expect(RecordingWriter.create(file, header)).rejects.toThrow(/already exists/);
    expect(await readFile(file, "utf8")).toBe("keep me");
  });

  it("rejects a bad magic at offset 0, naming the file", async () => {
    const file = tmp();
    await writeFile(file, "NOTESPERxxxxxxxxxxxx");
    const err = await formatError(RecordingReader.open(file));
    expect(err.offset).toBe(0);
    expect(err.file).toBe(file);
    expect(err.message).toContain(file);
    expect(err.message).toMatch(/bad magic/);
  });

  it("rejects an unsupported format version at offset 8", async () => {
    const file = tmp();
    await writeFrames(file, [frame(0, new Uint8Array([1]))]);
    const bytes = await readFile(file);
    bytes.writeUInt32BE(2, 8);
    await writeFile(file, bytes);
    const err = await formatError(RecordingReader.open(file));
    expect(err.offset).toBe(8);
    expect(err.message).toMatch(/unsupported format version 2/);
  });

  it("rejects a file that ends inside a frame body, at the frame's offset", async () => {
    const file = tmp();
    const frames = [frame(0, new Uint8Array([1, 2, 3])), frame(1, new Uint8Array(100))];
    await writeFrames(file, frames);
    const size = (await readFile(file)).length;
    const lastStart = size - encodeRecord(frames[1] as RecordedFrame).length;
    await truncate(file, size - 10);
    const reader = await RecordingReader.open(file);
    const seen: RecordedFrame[] = [];
    const err = await formatError(
      (async () => {
        for await (const f of reader) seen.push(f);
      })(),
    );
    expect(seen).toHaveLength(1);
    expect(err.offset).toBe(lastStart);
    expect(err.message).toMatch(/truncated frame #1/);
  });

  it("rejects a file that ends inside a length prefix", async () => {
    const file = tmp();
    await writeFrames(file, [frame(0, new Uint8Array([9]))]);
    const size = (await readFile(file)).length;
    await writeFile(file, new Uint8Array([0, 0]), { flag: "a" });
    const err = await formatError(readAll(file));
    expect(err.offset).toBe(size);
    expect(err.message).toMatch(/length prefix has 2 of 4 bytes/);
  });

  it("rejects a missing header record, a corrupt length and a frame that is not msgpack", async () => {
    const only = tmp();
    await writeFrames(only, []);
    await truncate(only, PREAMBLE_BYTES);
    expect((await formatError(RecordingReader.open(only))).message).toMatch(/missing header record/);

    const huge = tmp();
    await writeFrames(huge, []);
    const at = (await readFile(huge)).length;
    await writeFile(huge, new Uint8Array([0xff, 0xff, 0xff, 0xff, 1]), { flag: "a" });
    const e1 = await formatError(readAll(huge));
    expect(e1.offset).toBe(at);
    expect(e1.message).toMatch(/invalid length 4294967295/);

    const junk = tmp();
    await writeFrames(junk, []);
    await writeFile(junk, new Uint8Array([0, 0, 0, 2, 0xc1, 0xc1]), { flag: "a" });
    expect((await formatError(readAll(junk))).message).toMatch(/frame #0 is not valid msgpack/);
  });

  it("rejects a frame with a wrong or unknown field, naming the field", async () => {
    const file = tmp();
    await writeFrames(file, []);
    const bad = encodeRecord(frame(0, new Uint8Array([1]), { subject: "" }));
    await writeFile(file, bad, { flag: "a" });
    expect((await formatError(readAll(file))).message).toMatch(/field 'subject' must not be empty/);
    expect(() => frameFromRecord({ ...frame(0, new Uint8Array(1)), extra: 1 })).toThrow(
      /field 'extra' is not known/,
    );
    expect(() => frameFromRecord({ ...frame(0, new Uint8Array(1)), headers: { A: [1] } })).toThrow(
      /field 'headers.A\[0\]' must be a string/,
    );
  });

  it("round-trips arbitrary frames through the record codec", () => {
    const token = fc.stringMatching(/^[A-Za-z0-9_-]{1,8}$/);
    const arbFrame = fc.record({
      subject: fc.array(token, { minLength: 1, maxLength: 5 }).map((t) => t.join(".")),
      headers: fc.dictionary(token, fc.array(fc.string(), { maxLength: 3 }), { maxKeys: 4 }),
      payload: fc.uint8Array({ maxLength: 512 }),
      receivedAtMs: fc.nat(),
      offsetUs: fc.maxSafeNat(),
    });
    fc.assert(
      fc.property(arbFrame, (f) => {
        const rec = encodeRecord(f);
        expect(new DataView(rec.buffer).getUint32(0, false)).toBe(rec.length - 4);
        expect(frameFromRecord(decodeRecordBody(rec.subarray(4)))).toEqual(f);
      }),
      { numRuns: 200 },
    );
  });
});
