import type { z } from "zod";
import { AdaptationCommand, CommandSeedOperation, DecisionMetadata } from "./messages/command.ts";
import { TamiyoDecision } from "./messages/decision.ts";
import { EmergencySignal } from "./messages/emergency.ts";
import { BusEnvelope, DeadLetter, EventEnvelope } from "./messages/envelope.ts";
import { FieldReport, MitigationAction } from "./messages/field-report.ts";
import { KasminaState } from "./messages/kasmina-state.ts";
import {
  BlueprintDescriptor,
  KernelArtifactError,
  KernelArtifactReady,
  KernelCatalogUpdate,
  KernelPrefetchRequest,
  KernelPrefetchResult,
} from "./messages/kernel.ts";
import { PolicyUpdate } from "./messages/policy.ts";
import { ControlReply, ControlRequest, Heartbeat } from "./messages/runtime.ts";
import { SeedDirective, SeedReport } from "./messages/seed.ts";
import { SettingsReply, SettingsRequest } from "./messages/settings-request.ts";
import { HardwareContext, SeedState, SystemStatePacket } from "./messages/state.ts";
import {
  MetricPoint,
  SystemHealth,
  TelemetryEvent,
  TelemetryPacket,
  TraceSpan,
} from "./messages/telemetry.ts";
import { WorkerSettings } from "./messages/worker-settings.ts";

/** Every Leyline message type by name: the codec and the subject registry refer to these names. */
export const messageSchemas = {
  SystemStatePacket,
  SeedState,
  HardwareContext,
  AdaptationCommand,
  CommandSeedOperation,
  DecisionMetadata,
  TamiyoDecision,
  EmergencySignal,
  FieldReport,
  MitigationAction,
  KernelPrefetchRequest,
  KernelArtifactReady,
  KernelArtifactError,
  KernelPrefetchResult,
  KernelCatalogUpdate,
  BlueprintDescriptor,
  PolicyUpdate,
  TelemetryPacket,
  MetricPoint,
  TelemetryEvent,
  TraceSpan,
  SystemHealth,
  BusEnvelope,
  EventEnvelope,
  DeadLetter,
  SeedDirective,
  SeedReport,
  Heartbeat,
  ControlRequest,
  ControlReply,
  WorkerSettings,
  SettingsRequest,
  SettingsReply,
  KasminaState,
} as const satisfies Record<string, z.ZodType>;

/** The name of a Leyline message type. */
export type MessageType = keyof typeof messageSchemas;
/** A message of type `T` as decoded (defaults applied). */
export type MessageOf<T extends MessageType> = z.output<(typeof messageSchemas)[T]>;
/** A message of type `T` as it may be written before encoding (fields with defaults may be omitted). */
export type MessageInput<T extends MessageType> = z.input<(typeof messageSchemas)[T]>;

/** Whether `name` is a registered message type. */
export function isMessageType(name: string): name is MessageType {
  return Object.hasOwn(messageSchemas, name);
}
