import { Decoder, Encoder } from "@msgpack/msgpack";
import { PerformanceBudgets } from "../../contracts/budgets.ts";
import { decode, encode, extensionCodec, validate } from "../../contracts/codec.ts";
import { type MessageInput, type MessageType, messageSchemas } from "../../contracts/registry.ts";
import { statePacketFixture, telemetryFixture } from "../fixtures/messages.ts";
import { round, summarize } from "./stats.ts";

/** Options of the codec benchmark. */
export interface CodecBenchOptions {
  readonly iterations: number;
  readonly warmup: number;
}

/** p50/p99 in microseconds of one operation. */
export interface OpFigures {
  readonly p50Us: number;
  readonly p99Us: number;
}

/** Figures for one message. */
export interface MessageFigures {
  readonly message: string;
  readonly bytesMsgpack: number;
  readonly bytesJson: number;
  readonly encodeValidate: OpFigures;
  readonly decodeValidate: OpFigures;
  readonly validateOnly: OpFigures;
  readonly jsonStringify: OpFigures;
  readonly jsonParse: OpFigures;
  /** The same work done the way the codec did it before: @msgpack/msgpack and the uncompiled schema. */
  readonly baseline: { readonly encodeValidate: OpFigures; readonly decodeValidate: OpFigures };
}

const libEncoder = new Encoder({ extensionCodec, ignoreUndefined: true });
const libDecoder = new Decoder({ extensionCodec });

function time(iterations: number, warmup: number, op: () => unknown): OpFigures {
  for (let i = 0; i < warmup; i++) op();
  const samples = new Array<number>(iterations);
  for (let i = 0; i < iterations; i++) {
    const t0 = process.hrtime.bigint();
    op();
    samples[i] = Number(process.hrtime.bigint() - t0) / 1000;
  }
  const s = summarize(samples);
  return { p50Us: round(s.p50), p99Us: round(s.p99) };
}

function measure<T extends MessageType>(
  label: string,
  type: T,
  msg: MessageInput<T>,
  o: CodecBenchOptions,
): MessageFigures {
  const bytes = encode(type, msg);
  const json = JSON.stringify(msg);
  return {
    message: label,
    bytesMsgpack: bytes.byteLength,
    bytesJson: Buffer.byteLength(json),
    encodeValidate: time(o.iterations, o.warmup, () => encode(type, msg)),
    decodeValidate: time(o.iterations, o.warmup, () => decode(type, bytes)),
    validateOnly: time(o.iterations, o.warmup, () => validate(type, msg)),
    jsonStringify: time(o.iterations, o.warmup, () => JSON.stringify(msg)),
    jsonParse: time(o.iterations, o.warmup, () => JSON.parse(json)),
    baseline: {
      encodeValidate: time(o.iterations, o.warmup, () => libEncoder.encode(messageSchemas[type].parse(msg))),
      decodeValidate: time(o.iterations, o.warmup, () =>
        messageSchemas[type].parse(libDecoder.decode(bytes)),
      ),
    },
  };
}

/**
 * Times encode+validate, decode+validate and validation alone for a SystemStatePacket with 16 seed
 * states and a TelemetryPacket with 32 metrics, with JSON.stringify/parse of the same object and the
 * pre-compilation codec (@msgpack/msgpack, uncompiled schemas) as references measured in the same run,
 * and compares the p50s with the serialization and validation budgets.
 */
export function runCodecBench(o: CodecBenchOptions) {
  const messages = [
    measure("SystemStatePacket(16 seeds)", "SystemStatePacket", statePacketFixture(16), o),
    measure("TelemetryPacket(32 metrics)", "TelemetryPacket", telemetryFixture(32), o),
  ];
  const budgets = {
    serializationUs: PerformanceBudgets.serializationUs,
    validationUs: PerformanceBudgets.validationUs,
  };
  const verdicts = messages.map((m) => ({
    message: m.message,
    encodeP50OfBudget: round(m.encodeValidate.p50Us / budgets.serializationUs, 3),
    decodeP50OfBudget: round(m.decodeValidate.p50Us / budgets.serializationUs, 3),
    validationP50OfBudget: round(m.validateOnly.p50Us / budgets.validationUs, 3),
  }));
  const withinBudgets = verdicts.every(
    (v) => v.encodeP50OfBudget <= 1 && v.decodeP50OfBudget <= 1 && v.validationP50OfBudget <= 1,
  );
  return {
    bench: "codec",
    node: process.version,
    iterations: o.iterations,
    budgets,
    messages,
    verdicts,
    withinBudgets,
  };
}
