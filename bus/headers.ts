import { type MsgHdrs, MsgHdrsImpl, nuid } from "@nats-io/transport-node";
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
 * correlation id) in one `MsgHdrsImpl.fromRecord`: `headers()` + `set` scans and canonicalises every
 * key on each call, which cost a few percent of a 512 B message's send path.
 */
export function outgoingHeaders(type: string, msg: unknown, opts: SendOptions | undefined): MsgHdrs {
  const own = (msg as { priority?: unknown }).priority;
  const priority = opts?.priority ?? (typeof own === "number" ? own : MessagePriority.NORMAL);
  const record: Record<string, string[]> = {
    [HeaderNames.priority]: [String(priority)],
    [HeaderNames.contractVersion]: [CONTRACT_VERSION_TEXT],
    [HeaderNames.messageType]: [headerValue(HeaderNames.messageType, type)],
    [HeaderNames.messageId]: [headerValue(HeaderNames.messageId, messageIdOf(type, msg, opts))],
  };
  if (opts?.correlationId !== undefined)
    record[HeaderNames.correlationId] = [headerValue(HeaderNames.correlationId, opts.correlationId)];
  return MsgHdrsImpl.fromRecord(record);
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

/** The first value of header `name`, or "" when it is absent. */
export function headerOf(h: MsgHdrs, name: string): string {
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
