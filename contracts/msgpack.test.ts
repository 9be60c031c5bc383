import { Decoder, Encoder } from "@msgpack/msgpack";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeMsgpack, MAX_NESTING_DEPTH, MsgpackDecodeError } from "./msgpack-decode.ts";
import { encodeMsgpack } from "./msgpack-encode.ts";
import { extensionCodec } from "./msgpack-extensions.ts";

/** The reference: @msgpack/msgpack configured as the codec used it before it had its own encoder and decoder. */
const libEncoder = new Encoder({ extensionCodec, ignoreUndefined: true });
const libDecoder = new Decoder({ extensionCodec });

/** Integers around every msgpack format boundary, up to the 64-bit formats. */
const boundaryInts = [
  0,
  1,
  0x7f,
  0x80,
  0xff,
  0x100,
  0xffff,
  0x10000,
  0xffff_ffff,
  0x1_0000_0000,
  Number.MAX_SAFE_INTEGER,
].flatMap((n) => [n, -n, n - 1, -n - 1, -n + 1]);
const integer = fc.oneof(
  fc.constantFrom(...boundaryInts),
  fc.integer(),
  fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
);
/** Strings whose lengths straddle the fixstr/str8/str16 and short-string/cache limits, ASCII or not. */
const string = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.string({ unit: "grapheme-composite", minLength: 20, maxLength: 80 }),
  fc.constantFrom(30, 31, 32, 33, 63, 64, 65, 255, 256).map((n) => "k".repeat(n)),
  fc.constantFrom(10, 11, 21, 22, 85, 86).map((n) => "é€".repeat(n)),
  fc.constant("__proto__"),
);
const scalar = fc.oneof(
  integer,
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  string,
  fc.uint8Array({ maxLength: 300 }),
  fc.float32Array({ maxLength: 80 }),
  fc.date({ noInvalidDate: true }),
);
const { value } = fc.letrec<{ value: unknown; map: Record<string, unknown> }>((tie) => ({
  value: fc.oneof(
    { depthSize: "xsmall", withCrossShrink: true },
    scalar,
    fc.array(fc.oneof(tie("value"), fc.constant(undefined)), { maxLength: 18 }),
    tie("map"),
  ),
  map: fc.dictionary(
    fc.oneof(
      fc.string({ maxLength: 12 }),
      string.filter((k) => k !== "__proto__"),
    ),
    fc.oneof(tie("value"), fc.constant(undefined)),
    { maxKeys: 18 },
  ),
}));

describe("encodeMsgpack", () => {
  it("writes the bytes @msgpack/msgpack writes", () => {
    fc.assert(
      fc.property(value, (v) => {
        expect(encodeMsgpack(v)).toEqual(libEncoder.encode(v));
      }),
      { numRuns: 500, seed: 7 },
    );
  });

  it("writes and reads the 16- and 32-bit length formats as @msgpack/msgpack does", () => {
    const big = [
      "k".repeat(65535),
      "é".repeat(40_000),
      new Uint8Array(65536),
      new Float32Array(16384),
      Array.from({ length: 65536 }, (_, i) => i),
      Object.fromEntries(Array.from({ length: 70_000 }, (_, i) => [`k${i}`, i])),
    ];
    for (const v of big) {
      const bytes = libEncoder.encode(v);
      expect(Buffer.from(encodeMsgpack(v)).equals(bytes)).toBe(true);
      expect(Buffer.from(libEncoder.encode(decodeMsgpack(bytes))).equals(bytes)).toBe(true);
    }
  });

  it("writes a map with 16 or more entries once undefined values are left out", () => {
    const map = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, i === 3 ? undefined : i]));
    expect(encodeMsgpack(map)).toEqual(libEncoder.encode(map));
    expect(Object.keys(libDecoder.decode(encodeMsgpack(map)) as object)).toHaveLength(16);
  });

  it("returns a fresh buffer each time", () => {
    const first = encodeMsgpack({ a: "first" });
    encodeMsgpack({ a: "second" });
    expect(libDecoder.decode(first)).toEqual({ a: "first" });
  });

  it("survives being called again while encoding (a getter that encodes)", () => {
    const inner = { note: "written while the outer map is half done" };
    const outer = {
      first: "before",
      get nested() {
        return encodeMsgpack(inner).length;
      },
      last: "after",
    };
    expect(encodeMsgpack(outer)).toEqual(libEncoder.encode(outer));
  });

  it("refuses values msgpack cannot carry", () => {
    expect(() => encodeMsgpack({ n: 10n })).toThrow(/cannot encode a bigint/);
    expect(() => encodeMsgpack([() => 1])).toThrow(/cannot encode a function/);
  });
});

describe("decodeMsgpack", () => {
  it("reads what @msgpack/msgpack reads", () => {
    fc.assert(
      fc.property(value, (v) => {
        const bytes = libEncoder.encode(v);
        expect(decodeMsgpack(bytes)).toEqual(libDecoder.decode(bytes));
      }),
      { numRuns: 500, seed: 11 },
    );
  });

  it("accepts and refuses damaged bytes as @msgpack/msgpack does", () => {
    const damaged = fc
      .tuple(value, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat(3))
      .map(([v, at, byte, how]) => {
        const bytes = libEncoder.encode(v);
        const i = at % bytes.length;
        if (how === 0) return bytes.subarray(0, i);
        if (how === 1) return concat(bytes, Uint8Array.of(byte));
        const copy = bytes.slice();
        copy[i] = byte;
        return copy;
      });
    fc.assert(
      fc.property(damaged, (bytes) => {
        const ours = outcome(() => decodeMsgpack(bytes));
        const lib = outcome(() => libDecoder.decode(bytes));
        expect(ours.ok).toBe(lib.ok);
        if (ours.ok && lib.ok && !hasReplacementChar(ours.value)) expect(ours.value).toEqual(lib.value);
      }),
      { numRuns: 1000, seed: 13 },
    );
  });

  it("tells apart cached strings that share length and sampled bytes", () => {
    const similar = fc.array(
      fc.stringMatching(/^[a-z]{6}$/).map((mid) => `k${mid.slice(0, 3)}x${mid.slice(3)}k`),
      { minLength: 2, maxLength: 40 },
    );
    fc.assert(
      fc.property(similar, (keys) => {
        const v = { list: keys, map: Object.fromEntries(keys.map((k, i) => [k, i])) };
        expect(decodeMsgpack(libEncoder.encode(v))).toEqual(v);
      }),
      { numRuns: 300, seed: 17 },
    );
  });

  it("decodes invalid UTF-8 as U+FFFD", () => {
    expect(decodeMsgpack(Uint8Array.of(0xa3, 0x61, 0xff, 0x62))).toBe("a\uFFFDb");
  });

  it("copies a Float32Array out of the input bytes", () => {
    const bytes = libEncoder.encode({ v: new Float32Array([1.5, -2]) });
    const decoded = decodeMsgpack(bytes) as { v: Float32Array };
    bytes.fill(0);
    expect(Array.from(decoded.v)).toEqual([1.5, -2]);
  });

  const refusals: [string, Uint8Array, RegExp][] = [
    ["truncated string", Uint8Array.of(0xa3, 0x61), /insufficient data/],
    ["truncated float", Uint8Array.of(0xcb, 0, 0), /insufficient data/],
    ["empty input", new Uint8Array(0), /insufficient data/],
    [
      "array longer than the input, at its header",
      Uint8Array.of(0xdd, 0xff, 0xff, 0xff, 0xff, 0x01),
      /insufficient data at offset 5 of 6/,
    ],
    [
      "map longer than the input, at its header",
      Uint8Array.of(0xdf, 0x00, 0x00, 0x00, 0x02, 0x01, 0x01),
      /insufficient data at offset 5 of 7/,
    ],
    ["trailing bytes", Uint8Array.of(0x01, 0x02), /1 extra byte\(s\)/],
    ["the never-used type byte", Uint8Array.of(0xc1), /unknown type byte 0xc1/],
    ["__proto__ key", libEncoder.encode(JSON.parse('{"__proto__": {"x": 1}}')), /__proto__/],
    [
      "__proto__ key as str8",
      Uint8Array.of(0x81, 0xd9, 9, ...new TextEncoder().encode("__proto__"), 1),
      /__proto__/,
    ],
    ["nil key", Uint8Array.of(0x81, 0xc0, 0x01), /must be a string or a number, not nil/],
    ["array key", Uint8Array.of(0x81, 0x90, 0x01), /must be a string or a number, not object/],
    ["Float32Array of 3 bytes", Uint8Array.of(0xc7, 3, 1, 0, 0, 0), /not a multiple of 4/],
    ["deep nesting", new Uint8Array(MAX_NESTING_DEPTH + 1).fill(0x91), /deeper than 100/],
  ];
  it.each(refusals)("refuses %s", (_label, bytes, reason) => {
    expect(() => decodeMsgpack(bytes)).toThrow(reason);
  });

  it("accepts nesting up to the limit", () => {
    const bytes = Uint8Array.of(...new Array(MAX_NESTING_DEPTH).fill(0x91), 0x01);
    expect(() => decodeMsgpack(bytes)).not.toThrow();
  });

  it("throws MsgpackDecodeError for malformed input", () => {
    expect(() => decodeMsgpack(Uint8Array.of(0xc1))).toThrow(MsgpackDecodeError);
  });
});

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function outcome(fn: () => unknown): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: fn() };
  } catch {
    return { ok: false };
  }
}

/** Whether a decoded value holds U+FFFD: invalid UTF-8, which @msgpack/msgpack decodes differently. */
function hasReplacementChar(v: unknown): boolean {
  if (typeof v === "string") return v.includes("\uFFFD");
  if (Array.isArray(v)) return v.some(hasReplacementChar);
  if (v !== null && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
    return Object.entries(v).some(([k, x]) => k.includes("\uFFFD") || hasReplacementChar(x));
  }
  return false;
}
