import { headers as natsHeaders, type MsgHdrs, nuid } from "@nats-io/transport-node";
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

/** Builds the headers of an outgoing message of `type` (priority, correlation id, message id, contract version, type). */
export function outgoingHeaders(type: string, msg: unknown, opts: SendOptions | undefined): MsgHdrs {
  const h = natsHeaders();
  const own = (msg as { priority?: unknown }).priority;
  const priority = opts?.priority ?? (typeof own === "number" ? own : MessagePriority.NORMAL);
  h.set(HeaderNames.priority, String(priority));
  if (opts?.correlationId !== undefined) h.set(HeaderNames.correlationId, opts.correlationId);
  h.set(HeaderNames.messageId, messageIdOf(type, msg, opts));
  h.set(HeaderNames.contractVersion, CONTRACT_VERSION_TEXT);
  h.set(HeaderNames.messageType, type);
  return h;
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
    priority: numberOrUndefined(h.get(HeaderNames.priority)),
    correlationId: stringOrUndefined(h.get(HeaderNames.correlationId)),
    messageId: stringOrUndefined(h.get(HeaderNames.messageId)),
    contractVersion: numberOrUndefined(h.get(HeaderNames.contractVersion)),
    messageType: stringOrUndefined(h.get(HeaderNames.messageType)),
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
