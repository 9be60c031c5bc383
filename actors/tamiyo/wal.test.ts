import { spawn } from "node:child_process";
import { constants } from "node:fs";
import {
  appendFile,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  realpath,
  rm,
  stat,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  frameRecord,
  parseWal,
  WAL_HEADER_BYTES,
  WalCorruptError,
  WalUnusableError,
  WriteAheadLog,
  walHeader,
} from "./wal.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const bytes = (text: string) => new TextEncoder().encode(text);
const texts = (records: readonly Uint8Array[]) => records.map((r) => new TextDecoder().decode(r));

let dir: string;
let file: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "tamiyo-wal-"));
  file = join(dir, "test.wal");
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** XORs byte `i` of `buf` with `mask`. */
function flip(buf: Uint8Array, i: number, mask: number): void {
  buf[i] = (buf[i] as number) ^ mask;
}

/** A log file holding `records`, framed. */
function logOf(records: readonly Uint8Array[]): Uint8Array {
  return Buffer.concat([walHeader(), ...records.map(frameRecord)]);
}

/** The O_DSYNC bit of each descriptor this process holds open on `path` (Linux: /proc/self/fdinfo). */
async function openFlagsOf(path: string): Promise<number[]> {
  const real = await realpath(path);
  const flags: number[] = [];
  for (const fd of await readdir("/proc/self/fd")) {
    const target = await readlink(join("/proc/self/fd", fd)).catch(() => "");
    if (target !== real) continue;
    const info = await readFile(join("/proc/self/fdinfo", fd), "utf8");
    const octal = /^flags:\s+([0-7]+)$/m.exec(info)?.[1];
    if (octal === undefined) throw new Error(`no flags line in /proc/self/fdinfo/${fd}`);
    flags.push(Number.parseInt(octal, 8) & constants.O_DSYNC);
  }
  return flags;
}

describe("WriteAheadLog", () => {
  it("creates an empty log, appends fsynced records and reads them back in order", async () => {
    const first = await WriteAheadLog.open(file);
    expect(first.load).toEqual({ records: [], bytes: WAL_HEADER_BYTES, tornTail: undefined });
    await Promise.all(["a", "bb", "ccc"].map((t) => first.wal.append(bytes(t))));
    expect(first.wal.sizeBytes).toBe((await stat(file)).size);
    await first.wal.close();
    const again = await WriteAheadLog.open(file);
    expect(texts(again.load.records)).toEqual(["a", "bb", "ccc"]);
    expect(again.load.tornTail).toBeUndefined();
    await again.wal.close();
  });

  it("an append of several records writes them all, in order, in one write", async () => {
    const { wal } = await WriteAheadLog.open(file);
    const before = wal.sizeBytes;
    await wal.append(bytes("one"), bytes("two"), bytes("three"));
    const frames = ["one", "two", "three"].map((t) => frameRecord(bytes(t)).length);
    expect(wal.sizeBytes - before).toBe(frames.reduce((a, b) => a + b, 0));
    await wal.close();
    const again = await WriteAheadLog.open(file);
    expect(texts(again.load.records)).toEqual(["one", "two", "three"]);
    await again.wal.close();
  });

  it("a crash in the middle of a write: the half record is dropped and reported, the log stays usable", async () => {
    const { wal } = await WriteAheadLog.open(file);
    await wal.append(bytes("kept-1"));
    await wal.append(bytes("kept-2"));
    await wal.close();
    const torn = frameRecord(bytes("the record being written when the process died"));
    const half = Math.floor(torn.length / 2);
    await appendFile(file, torn.subarray(0, half));
    const intact = (await stat(file)).size - half;

    const reopened = await WriteAheadLog.open(file);
    expect(texts(reopened.load.records)).toEqual(["kept-1", "kept-2"]);
    expect(reopened.load.tornTail).toEqual({
      offset: intact,
      droppedBytes: half,
      droppedRecords: 1,
      reason: `a record of ${torn.length} bytes cut short at ${half} bytes`,
    });
    expect((await stat(file)).size).toBe(intact);
    await reopened.wal.append(bytes("after"));
    await reopened.wal.close();
    const last = await WriteAheadLog.open(file);
    expect(texts(last.load.records)).toEqual(["kept-1", "kept-2", "after"]);
    expect(last.load.tornTail).toBeUndefined();
    await last.wal.close();
  });

  it("a process SIGKILLed while appending leaves a log whose records are a prefix of its appends", async () => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "actors/tamiyo/testing/wal-appender.ts", file],
      {
        cwd: ROOT,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    const exited = new Promise((resolve) => child.once("exit", resolve));
    const end = Date.now() + 20_000;
    while (out.split("\n").length < 30) {
      if (child.exitCode !== null) throw new Error(`appender exited ${child.exitCode}: ${err}`);
      if (Date.now() > end) throw new Error(`appender too slow: ${out.length} bytes of output; ${err}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    child.kill("SIGKILL");
    await exited;
    const acknowledged = out.split("\n").filter((l) => l !== "").length;

    const { wal, load } = await WriteAheadLog.open(file);
    const numbers = load.records.map((r) => new DataView(r.buffer, r.byteOffset).getUint32(0, false));
    expect(numbers).toEqual([...numbers.keys()]);
    expect(numbers.length).toBeGreaterThanOrEqual(acknowledged);
    expect(numbers.length).toBeLessThanOrEqual(acknowledged + 1);
    for (const [i, r] of load.records.entries()) expect(r.subarray(4).every((b) => b === i % 251)).toBe(true);
    await wal.append(bytes("usable"));
    await wal.close();
    const again = await WriteAheadLog.open(file);
    expect(again.load.records).toHaveLength(numbers.length + 1);
    await again.wal.close();
  }, 30_000);

  it("a zero-filled tail (a size extended without data) is a torn tail", async () => {
    await writeFile(file, Buffer.concat([logOf([bytes("x")]), new Uint8Array(40)]));
    const { wal, load } = await WriteAheadLog.open(file);
    expect(texts(load.records)).toEqual(["x"]);
    expect(load.tornTail).toMatchObject({ droppedBytes: 40, reason: "40 zero bytes after the last record" });
    await wal.close();
  });

  it("a last record with a failing checksum is a torn tail", async () => {
    const log = logOf([bytes("one"), bytes("two")]);
    flip(log, log.length - 5, 0xff);
    const load = parseWal(log, file);
    expect(texts(load.records)).toEqual(["one"]);
    expect(load.tornTail).toMatchObject({
      reason: "the last record's checksum does not match",
      droppedRecords: 1,
    });
  });

  it("a corrupt record in the middle is an error naming its offset", async () => {
    const log = logOf([bytes("one"), bytes("two"), bytes("three")]);
    const second = WAL_HEADER_BYTES + frameRecord(bytes("one")).length;
    flip(log, second + 5, 0x01);
    await writeFile(file, log);
    const opening = WriteAheadLog.open(file);
    await expect(opening).rejects.toThrow(WalCorruptError);
    await expect(opening).rejects.toThrow(
      `corrupt at byte offset ${second}: damaged record followed by an intact record`,
    );
    expect(Buffer.from(await readFile(file)).equals(Buffer.from(log))).toBe(true);
  });

  it("a file without the magic or with another version is corrupt at offset 0", () => {
    expect(() => parseWal(bytes("NOTAWAL!\0\0\0\x01"), file)).toThrow(/offset 0: no ESPERWAL magic/);
    const v2 = walHeader();
    v2[11] = 2;
    expect(() => parseWal(v2, file)).toThrow(/offset 0: format version 2/);
  });

  it("rewrite replaces the log atomically and appends continue on the new file", async () => {
    const { wal } = await WriteAheadLog.open(file);
    for (const t of ["a", "b", "c"]) await wal.append(bytes(t));
    await wal.rewrite([bytes("snapshot")]);
    expect(await readdir(dir)).toEqual(["test.wal"]);
    await wal.append(bytes("d"));
    expect(wal.sizeBytes).toBe((await stat(file)).size);
    await wal.close();
    const again = await WriteAheadLog.open(file);
    expect(texts(again.load.records)).toEqual(["snapshot", "d"]);
    await again.wal.close();
  });

  it.runIf(process.platform === "linux")(
    "appends through a write-through handle (O_DSYNC), also after a rewrite",
    async () => {
      const { wal } = await WriteAheadLog.open(file);
      expect(await openFlagsOf(file)).toEqual([constants.O_DSYNC]);
      await wal.rewrite([bytes("snapshot")]);
      expect(await openFlagsOf(file)).toEqual([constants.O_DSYNC]);
      await wal.close();
      expect(await openFlagsOf(file)).toEqual([]);
    },
  );

  it("a closed log refuses appends", async () => {
    const { wal } = await WriteAheadLog.open(file);
    await wal.close();
    await expect(wal.append(bytes("late"))).rejects.toThrow(WalUnusableError);
  });
});

describe("parseWal (properties)", () => {
  const records = fc.array(fc.uint8Array({ minLength: 1, maxLength: 64 }), { maxLength: 12 });

  it("reads back every framed sequence", () => {
    fc.assert(
      fc.property(records, (rs) => {
        const load = parseWal(logOf(rs), file);
        expect(load.records.map((r) => [...r])).toEqual(rs.map((r) => [...r]));
        expect(load.tornTail).toBeUndefined();
      }),
    );
  });

  it("a log cut anywhere after its header reads the whole records before the cut and reports the rest", () => {
    fc.assert(
      fc.property(records, fc.nat(), (rs, at) => {
        const log = logOf(rs);
        const cut = WAL_HEADER_BYTES + (at % (log.length - WAL_HEADER_BYTES + 1));
        const boundaries = [WAL_HEADER_BYTES];
        for (const r of rs) boundaries.push((boundaries.at(-1) as number) + frameRecord(r).length);
        const whole = boundaries.filter((b) => b <= cut).length - 1;
        const load = parseWal(log.subarray(0, cut), file);
        expect(load.records.map((r) => [...r])).toEqual(rs.slice(0, whole).map((r) => [...r]));
        const kept = boundaries[whole] as number;
        expect(load.bytes).toBe(kept);
        if (kept === cut) expect(load.tornTail).toBeUndefined();
        else
          expect(load.tornTail).toMatchObject({ offset: kept, droppedBytes: cut - kept, droppedRecords: 1 });
      }),
    );
  });

  it("a flipped byte never yields altered records: a corruption error or a prefix with a torn tail", () => {
    fc.assert(
      fc.property(
        records.filter((rs) => rs.length > 0),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (rs, at, xor) => {
          const log = logOf(rs);
          const i = WAL_HEADER_BYTES + (at % (log.length - WAL_HEADER_BYTES));
          flip(log, i, xor);
          let load: ReturnType<typeof parseWal>;
          try {
            load = parseWal(log, file);
          } catch (err) {
            expect(err).toBeInstanceOf(WalCorruptError);
            return;
          }
          expect(load.tornTail).toBeDefined();
          expect(load.records.length).toBeLessThan(rs.length);
          expect(load.records.map((r) => [...r])).toEqual(
            rs.slice(0, load.records.length).map((r) => [...r]),
          );
        },
      ),
    );
  });
});
