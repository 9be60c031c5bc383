import { WriteAheadLog } from "../wal.ts";

/**
 * Test-only process: appends numbered records of `RECORD_BYTES` bytes to the log at argv[2] until it is
 * killed, printing each record's number once its append resolved (the crash test kills it mid-write).
 */
const RECORD_BYTES = 64 * 1024;
const file = process.argv[2];
if (file === undefined) throw new Error("usage: wal-appender <log file>");
const { wal } = await WriteAheadLog.open(file);
for (let i = 0; ; i++) {
  const body = new Uint8Array(RECORD_BYTES).fill(i % 251);
  new DataView(body.buffer).setUint32(0, i, false);
  await wal.append(body);
  process.stdout.write(`${i}\n`);
}
