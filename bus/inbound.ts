import type { Msg, MsgHdrs } from "@nats-io/transport-node";
import { CONTRACT_VERSION } from "../contracts/budgets.ts";
import { decode } from "../contracts/codec.ts";
import { ContractError } from "../contracts/errors.ts";
import { HeaderNames } from "../contracts/headers.ts";
import type { MessageOf, MessageType } from "../contracts/registry.ts";
import type { BusConnection } from "./connection.ts";
import { headerOf } from "./headers.ts";
import { headerTextOf, textHeaderUnless } from "./raw-headers.ts";

/** The outcome of checking an incoming message: the decoded message, or the contract error that refused it. */
export type Inbound<T extends MessageType> =
  | { readonly ok: true; readonly msg: MessageOf<T> }
  | { readonly ok: false; readonly error: ContractError };

/**
 * Decodes and validates an incoming payload as `type`. Refuses a message whose headers name another
 * message type or contract version. A refusal is counted (subject + field path) and reported as a
 * `bus.message_rejected` event; the message never reaches a handler.
 */
export function checkInbound<T extends MessageType>(
  bus: BusConnection,
  type: T,
  subject: string,
  data: Uint8Array,
  headers: MsgHdrs | undefined,
): Inbound<T> {
  try {
    if (headers !== undefined) {
      const sentType = headerOf(headers, HeaderNames.messageType);
      checkHeaders(type, sentType === type ? "" : sentType, headerOf(headers, HeaderNames.contractVersion));
    }
    return { ok: true, msg: decode(type, data) };
  } catch (err) {
    return refused(bus, type, subject, err);
  }
}

/**
 * {@link checkInbound} for a received core message `m` (refusals counted under `subject`): the same
 * checks, reading the two headers from the raw header bytes instead of having nats.js parse them all
 * (see raw-headers.ts).
 */
export function checkMessage<T extends MessageType>(
  bus: BusConnection,
  type: T,
  subject: string,
  m: Msg,
): Inbound<T> {
  const text = headerTextOf(m);
  let otherType: string;
  let version: string;
  if (text !== undefined) {
    otherType = textHeaderUnless(text, HeaderNames.messageType, type);
    version = textHeaderUnless(text, HeaderNames.contractVersion, CONTRACT_VERSION_TEXT);
  } else {
    const h = m.headers;
    const sentType = h === undefined ? "" : headerOf(h, HeaderNames.messageType);
    otherType = sentType === type ? "" : sentType;
    version = h === undefined ? "" : headerOf(h, HeaderNames.contractVersion);
  }
  try {
    checkHeaders(type, otherType, version);
    return { ok: true, msg: decode(type, m.data) };
  } catch (err) {
    return refused(bus, type, subject, err);
  }
}

const CONTRACT_VERSION_TEXT = String(CONTRACT_VERSION);

function refused<T extends MessageType>(
  bus: BusConnection,
  type: T,
  subject: string,
  err: unknown,
): Inbound<T> {
  const error =
    err instanceof ContractError
      ? err
      : new ContractError(type, [{ path: [], reason: (err as Error).message }]);
  bus.metrics.rejected(subject, type, error.path);
  bus.emit("bus.message_rejected", "warn", {
    subject,
    messageType: type,
    field: error.field,
    reason: error.reason,
  });
  return { ok: false, error };
}

/** Refuses `otherType` (a header naming another message type; "" when none) and a foreign contract `version`. */
function checkHeaders(type: string, otherType: string, version: string): void {
  if (otherType !== "") {
    throw new ContractError(type, [
      {
        path: [`header:${HeaderNames.messageType}`],
        reason: `is '${otherType}', this subject carries '${type}'`,
      },
    ]);
  }
  if (version !== "" && Number(version) !== CONTRACT_VERSION) {
    throw new ContractError(type, [
      {
        path: [`header:${HeaderNames.contractVersion}`],
        reason: `is '${version}', this build speaks contract version ${CONTRACT_VERSION}`,
      },
    ]);
  }
}
