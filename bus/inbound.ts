import type { MsgHdrs } from "@nats-io/transport-node";
import { CONTRACT_VERSION } from "../contracts/budgets.ts";
import { decode } from "../contracts/codec.ts";
import { ContractError } from "../contracts/errors.ts";
import { HeaderNames } from "../contracts/headers.ts";
import type { MessageOf, MessageType } from "../contracts/registry.ts";
import type { BusConnection } from "./connection.ts";
import { headerOf } from "./headers.ts";

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
    if (headers !== undefined) checkHeaders(type, headers);
    return { ok: true, msg: decode(type, data) };
  } catch (err) {
    const error =
      err instanceof ContractError
        ? err
        : new ContractError(type, [{ path: [], reason: (err as Error).message }]);
    bus.metrics.rejected(subject, error.field);
    bus.emit("bus.message_rejected", "warn", {
      subject,
      messageType: type,
      field: error.field,
      reason: error.reason,
    });
    return { ok: false, error };
  }
}

function checkHeaders(type: string, h: MsgHdrs): void {
  const sentType = headerOf(h, HeaderNames.messageType);
  if (sentType !== "" && sentType !== type) {
    throw new ContractError(type, [
      {
        path: [`header:${HeaderNames.messageType}`],
        reason: `is '${sentType}', this subject carries '${type}'`,
      },
    ]);
  }
  const version = headerOf(h, HeaderNames.contractVersion);
  if (version !== "" && Number(version) !== CONTRACT_VERSION) {
    throw new ContractError(type, [
      {
        path: [`header:${HeaderNames.contractVersion}`],
        reason: `is '${version}', this build speaks contract version ${CONTRACT_VERSION}`,
      },
    ]);
  }
}
