/** Header names carried by every bus message; payloads carry only the message. */
export const HeaderNames = {
  /** MessagePriority code as a decimal string. */
  priority: "Esper-Priority",
  /** Correlates a reply, report or follow-up with what caused it. */
  correlationId: "Esper-Correlation-Id",
  /** Unique message id; JetStream deduplicates on it (the command id for commands). */
  messageId: "Nats-Msg-Id",
  /** CONTRACT_VERSION of the sender. */
  contractVersion: "Esper-Contract-Version",
  /** The Leyline message type name of the payload. */
  messageType: "Esper-Message-Type",
  /**
   * `true` on a CRITICAL TelemetryPacket that Weatherlight stored on the normal telemetry stream
   * because the emergency stream's token bucket was empty; absent otherwise.
   */
  throttled: "Esper-Throttled",
} as const;
