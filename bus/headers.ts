import { Match, type MsgHdrs, MsgHdrsImpl, nuid, TE } from "@nats-io/transport-node";
import { CONTRACT_VERSION } from "../contracts/budgets.ts";
import { MessagePriority } from "../contracts/enums.ts";
import { HeaderNames } from "../contracts/headers.ts";

/** Header values a sender may set; the rest are filled in by the bus. */
export interface SendOptions {
  /** MessagePriority code; default the message's own `priority` field, else NORMAL. */
  readonly priority?: MessagePriority;
  /** Correlates this message with what caused it. */
  readonly correlationId?: string;
  /** Unique message id (JetStream deduplicates on it); default the command id for commands, else a fresh NUID. */
  readonly messageId?: string;
}

/** The Esper headers of a received message (absent headers are undefined). */
export interface BusHeaders {
  readonly priority: number | undefined;
  readonly correlationId: string | undefined;
  readonly messageId: string | undefined;
  readonly contractVersion: number | undefined;
  readonly messageType: string | undefined;
}

/** The message id the bus uses for `msg`: `opts.messageId`, else an AdaptationCommand's `commandId`, else a NUID. */
export function messageIdOf(type: string, msg: unknown, opts: SendOptions | undefined): string {
  if (opts?.messageId !== undefined) return opts.messageId;
  if (type === "AdaptationCommand") return (msg as { commandId: string }).commandId;
  return nuid.next();
}

/**
 * Builds the headers of an outgoing message of `type` (priority, contract version, type, message id,
 * correlation id). Fills the header map directly: nats.js's `set` scans every key on each call.
 */
export function outgoingHeaders(type: string, msg: unknown, opts: SendOptions | undefined): MsgHdrs {
  const own = (msg as { priority?: unknown }).priority;
  const priority = opts?.priority ?? (typeof own === "number" ? own : MessagePriority.NORMAL);
  const messageId = headerValue(HeaderNames.messageId, messageIdOf(type, msg, opts));
  const correlationId =
    opts?.correlationId === undefined
      ? undefined
      : headerValue(HeaderNames.correlationId, opts.correlationId);
  const h = new OutgoingHeaders(fixedPart(type, priority), messageId, correlationId);
  const map = h.headers;
  map.set(HeaderNames.priority, [String(priority)]);
  map.set(HeaderNames.contractVersion, [CONTRACT_VERSION_TEXT]);
  map.set(HeaderNames.messageType, [type]);
  map.set(HeaderNames.messageId, [messageId]);
  if (correlationId !== undefined) map.set(HeaderNames.correlationId, [correlationId]);
  return h;
}

/**
 * Outgoing Esper headers whose `encode()` copies the cached bytes of the fixed headers (status line,
 * priority, contract version, type) and writes only the message and correlation ids, instead of
 * nats.js's string building + `TextEncoder` per message. The map is filled in the same order, so the
 * bytes equal `MsgHdrsImpl.encode()`; once the headers are changed through `set`/`append`/`delete`
 * (JetStream adds its own), `encode()` is nats.js's. Setting the message id to its own value (what
 * JetStream's `msgID` option does) changes nothing and keeps the fast path.
 */
class OutgoingHeaders extends MsgHdrsImpl {
  private edited = false;

  constructor(
    private readonly fixed: Uint8Array,
    private readonly messageId: string,
    private readonly correlationId: string | undefined,
  ) {
    super();
  }

  override set(k: string, v: string, match?: Match): void {
    const same =
      k === HeaderNames.messageId && v === this.messageId && (match === undefined || match === Match.Exact);
    if (same && !this.edited) return;
    this.edited = true;
    super.set(k, v, match);
  }

  override append(k: string, v: string, match?: Match): void {
    this.edited = true;
    super.append(k, v, match);
  }

  override delete(k: string, match?: Match): void {
    this.edited = true;
    super.delete(k, match);
  }

  override encode(): Uint8Array {
    if (this.edited) return super.encode();
    const tail =
      this.correlationId === undefined
        ? `${this.messageId}\r\n\r\n`
        : `${this.messageId}\r\n${HeaderNames.correlationId}: ${this.correlationId}\r\n\r\n`;
    const fixed = this.fixed;
    const out = slabBytes(fixed.length + tail.length);
    out.set(fixed);
    for (let i = 0, at = fixed.length; i < tail.length; i++, at++) {
      const c = tail.charCodeAt(i);
      if (c > 0x7f) return super.encode();
      out[at] = c;
    }
    return out;
  }
}

const SLAB_SIZE = 64 * 1024;
let slab = new Uint8Array(SLAB_SIZE);
let slabUsed = 0;

/**
 * `n` fresh bytes cut from a shared 64 KiB slab (never handed out twice): a `new Uint8Array` per
 * message costs about 0.6 µs (an ArrayBuffer each). nats.js copies header bytes into its outbound
 * buffer at the next flush, after which a used-up slab is garbage.
 */
function slabBytes(n: number): Uint8Array {
  if (n > SLAB_SIZE >> 4) return new Uint8Array(n);
  if (slabUsed + n > SLAB_SIZE) {
    slab = new Uint8Array(SLAB_SIZE);
    slabUsed = 0;
  }
  const bytes = slab.subarray(slabUsed, slabUsed + n);
  slabUsed += n;
  return bytes;
}

const fixedParts = new Map<string, Map<number, Uint8Array>>();
const FIXED_PARTS_PER_TYPE = 16;

/** The encoded header lines before the message id's value, cached per type and priority. */
function fixedPart(type: string, priority: number): Uint8Array {
  let byPriority = fixedParts.get(type);
  if (byPriority === undefined) {
    byPriority = new Map();
    fixedParts.set(type, byPriority);
  }
  let bytes = byPriority.get(priority);
  if (bytes === undefined) {
    bytes = TE.encode(
      `NATS/1.0\r\n${HeaderNames.priority}: ${priority}\r\n${HeaderNames.contractVersion}: ${CONTRACT_VERSION_TEXT}\r\n${HeaderNames.messageType}: ${type}\r\n${HeaderNames.messageId}: `,
    );
    if (byPriority.size < FIXED_PARTS_PER_TYPE) byPriority.set(priority, bytes);
  }
  return bytes;
}

const LINE_BREAK = /[\r\n]/;

function headerValue(name: string, value: string): string {
  if (LINE_BREAK.test(value) || value.trim() !== value || value === "") {
    throw new Error(
      `header ${name} must be non-empty without surrounding whitespace or line breaks, got '${value}'`,
    );
  }
  return value;
}

/** The first value of header `name`, or "" (reads the parsed map directly when it can). */
export function headerOf(h: MsgHdrs, name: string): string {
  if (h instanceof MsgHdrsImpl) return h.headers.get(name)?.[0] ?? "";
  return h.get(name);
}

const CONTRACT_VERSION_TEXT = String(CONTRACT_VERSION);

function numberOrUndefined(text: string): number | undefined {
  if (text === "") return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

function stringOrUndefined(text: string): string | undefined {
  return text === "" ? undefined : text;
}

/** Reads the Esper headers of a received message. */
export function readHeaders(h: MsgHdrs | undefined): BusHeaders {
  if (h === undefined) {
    return {
      priority: undefined,
      correlationId: undefined,
      messageId: undefined,
      contractVersion: undefined,
      messageType: undefined,
    };
  }
  return {
    priority: numberOrUndefined(headerOf(h, HeaderNames.priority)),
    correlationId: stringOrUndefined(headerOf(h, HeaderNames.correlationId)),
    messageId: stringOrUndefined(headerOf(h, HeaderNames.messageId)),
    contractVersion: numberOrUndefined(headerOf(h, HeaderNames.contractVersion)),
    messageType: stringOrUndefined(headerOf(h, HeaderNames.messageType)),
  };
}

/** All headers of a message as a flat map (last value of each), e.g. for a dead letter. */
export function headerMap(h: MsgHdrs | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (h === undefined) return out;
  for (const [k, v] of h) {
    const last = v[v.length - 1];
    if (last !== undefined) out[k] = last;
  }
  return out;
}
