import { headers, type Msg, type MsgHdrs, nuid } from "@nats-io/transport-node";
import { CONTRACT_VERSION } from "../../contracts/budgets.ts";
import { decode } from "../../contracts/codec.ts";
import { MessagePriority } from "../../contracts/enums.ts";
import { HeaderNames } from "../../contracts/headers.ts";
import type { MessageOf, MessageType } from "../../contracts/registry.ts";

/**
 * The headers the bus puts on a message of `type`, built the plain nats.js way (`headers()` + `set`),
 * with a fresh NUID message id: what a hand-written client sending the same wire message would do.
 */
export function rawHeaders(
  type: string,
  priority: number = MessagePriority.NORMAL,
  correlationId?: string,
): MsgHdrs {
  const h = headers();
  h.set(HeaderNames.priority, String(priority));
  h.set(HeaderNames.contractVersion, CONTRACT_VERSION_TEXT);
  h.set(HeaderNames.messageType, type);
  h.set(HeaderNames.messageId, nuid.next());
  if (correlationId !== undefined) h.set(HeaderNames.correlationId, correlationId);
  return h;
}

/**
 * What a hand-written client receiving `m` as `type` does: refuses a header naming another type or
 * contract version, then decodes and validates the payload.
 */
export function rawReceive<T extends MessageType>(type: T, m: Msg): MessageOf<T> {
  const h = m.headers;
  if (h !== undefined) {
    const sent = h.get(HeaderNames.messageType);
    if (sent !== "" && sent !== type) throw new Error(`message type header is ${sent}, expected ${type}`);
    const version = h.get(HeaderNames.contractVersion);
    if (version !== "" && Number(version) !== CONTRACT_VERSION)
      throw new Error(`contract version header is ${version}`);
  }
  return decode(type, m.data);
}

const CONTRACT_VERSION_TEXT = String(CONTRACT_VERSION);
