import { mkdtemp, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PREAMBLE_BYTES, type RecordedFrame, RecordingFormatError } from "./format.ts";
import { RecordingReader, readRecording as readAll } from "./reader.ts";
import { decodeRecordBody, encodeRecord, frameFromRecord, recordOfBody } from "./records.ts";
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
    reply: i % 2 === 0 ? null : `_INBOX.rt.${i}`,
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

describe("recording file format v2", () => {
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
    expect(back0).toEqual({ ...header, formatVersion: 2, createdAtMs: back0.createdAtMs });
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
    expect(bytes.readUInt32BE(8)).toBe(2);
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
    bytes.writeUInt32BE(1, 8);
    await writeFile(file, bytes);
    const err = await formatError(RecordingReader.open(file));
    expect(err.offset).toBe(8);
    expect(err.message).toMatch(/unsupported format version 1/);
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
    expect(err).toMatchObject({ frame: 1, truncated: true });
    expect(err.message).toMatch(/truncated frame #1/);
  });

  it("detects a flipped payload byte by the frame checksum, naming the frame index and its offset", async () => {
    const file = tmp();
    const payload = new TextEncoder().encode("payload-of-frame-two");
    const frames = [frame(0, new Uint8Array([1, 2])), frame(1, new Uint8Array([3])), frame(2, payload)];
    await writeFrames(file, frames);
    const bytes = await readFile(file);
    const third = bytes.length - encodeRecord(frames[2] as RecordedFrame).length;
    const at = bytes.indexOf(Buffer.from(payload), third);
    expect(at).toBeGreaterThan(third);
    bytes[at + 3] = (bytes[at + 3] ?? 0) ^ 0x01;
    await writeFile(file, bytes);
    const reader = await RecordingReader.open(file);
    const seen: RecordedFrame[] = [];
    const err = await formatError(
      (async () => {
        for await (const f of reader) seen.push(f);
      })(),
    );
    expect(seen).toHaveLength(2);
    expect(err).toMatchObject({ frame: 2, offset: third, truncated: false });
    expect(err.message).toMatch(new RegExp(`frame #2 checksum mismatch .* at byte offset ${third}$`));
  });

  it("detects a flipped byte in a length prefix or the header record", async () => {
    const file = tmp();
    const frames = [frame(0, new Uint8Array(40)), frame(1, new Uint8Array(40))];
    await writeFrames(file, frames);
    const bytes = await readFile(file);
    const first = bytes.length - frames.reduce((sum, f) => sum + encodeRecord(f).length, 0);
    const lengthFlipped = Buffer.from(bytes);
    lengthFlipped[first + 3] = (lengthFlipped[first + 3] ?? 0) ^ 0x02;
    await writeFile(file, lengthFlipped);
    const e1 = await formatError(readAll(file));
    expect(e1).toMatchObject({ frame: 0, offset: first });
    expect(e1.message).toMatch(/frame #0 (checksum mismatch|.*truncated)/);

    const headerFlipped = Buffer.from(bytes);
    headerFlipped[PREAMBLE_BYTES + 10] = (headerFlipped[PREAMBLE_BYTES + 10] ?? 0) ^ 0x40;
    const other = tmp();
    await writeFile(other, headerFlipped);
    const e2 = await formatError(RecordingReader.open(other));
    expect(e2).toMatchObject({ frame: null, offset: PREAMBLE_BYTES });
    expect(e2.message).toMatch(/header record checksum mismatch/);
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
    await writeFile(junk, recordOfBody(new Uint8Array([0xc1, 0xc1])), { flag: "a" });
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
      reply: fc.option(token, { nil: null }),
      headers: fc.dictionary(token, fc.array(fc.string(), { maxLength: 3 }), { maxKeys: 4 }),
      payload: fc.uint8Array({ maxLength: 512 }),
      receivedAtMs: fc.nat(),
      offsetUs: fc.maxSafeNat(),
    });
    fc.assert(
      fc.property(arbFrame, (f) => {
        const rec = encodeRecord(f);
        expect(new DataView(rec.buffer).getUint32(0, false)).toBe(rec.length - 4 - 4);
        expect(frameFromRecord(decodeRecordBody(rec.subarray(4, rec.length - 4)))).toEqual(f);
      }),
      { numRuns: 200 },
    );
  });
});
