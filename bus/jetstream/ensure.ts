import {
  AckPolicy,
  type ConsumerConfig,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  ReplayPolicy,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { Objm } from "@nats-io/obj";
import { nanos } from "@nats-io/transport-node";
import { SystemLimits } from "../../contracts/budgets.ts";
import {
  type BucketKey,
  buckets,
  type ObjectStoreKey,
  objectStores,
  storeName,
} from "../../contracts/stores.ts";
import { subjectFilter } from "../../contracts/subjects.ts";
import type { BusConnection } from "../connection.ts";
import { jetStreamManagerOf, streamExists } from "./context.ts";
import {
  advisoryStream,
  advisoryStreamName,
  type ConsumerDeclaration,
  kvBuckets,
  objectStoreLimits,
  type StreamDeclaration,
  type StreamKey,
  stackConsumers,
  streamName,
  streams,
} from "./declarations.ts";
import { maxDeliveriesSubject } from "./max-deliveries.ts";

/** The oldest nats-server whose JetStream API the bus relies on (named consumer create, 2.9). */
export const MIN_SERVER_VERSION = "2.9.0";

/** What `ensureResources` did to each resource (NATS names). */
export interface EnsureReport {
  readonly created: string[];
  readonly updated: string[];
  readonly unchanged: string[];
}

/** A declared resource cannot be created or differs from the server's copy in a field that cannot change. */
export class ResourceError extends Error {
  override readonly name = "ResourceError";
}

/**
 * Creates or updates every declared stream, stack-level consumer, KV bucket and object store under the
 * connection's namespace (per-run consumers are created when first consumed, see run-consumers.ts). Idempotent: running it again changes nothing. Fails with a clear error when
 * the server is older than {@link MIN_SERVER_VERSION} or has JetStream disabled.
 */
export async function ensureResources(bus: BusConnection): Promise<EnsureReport> {
  checkServer(bus);
  const jsm = await jetStreamManagerOf(bus);
  const report: EnsureReport = { created: [], updated: [], unchanged: [] };
  for (const key of Object.keys(streams) as StreamKey[]) {
    record(report, await ensureStream(jsm, bus.namespace, key, streams[key]));
  }
  record(report, await ensureStreamConfig(jsm, advisoryStreamConfig(bus.namespace)));
  for (const [name, decl] of Object.entries(stackConsumers)) {
    record(report, await ensureConsumer(bus, jsm, name, decl));
  }
  for (const key of Object.keys(buckets) as BucketKey[]) record(report, await ensureBucket(bus, key));
  for (const key of Object.keys(objectStores) as ObjectStoreKey[])
    record(report, await ensureObjectStore(bus, key));
  bus.emit("bus.resources_ensured", "info", {
    created: report.created.length,
    updated: report.updated.length,
    unchanged: report.unchanged.length,
  });
  return report;
}

type Outcome = readonly [name: string, what: "created" | "updated" | "unchanged"];

function record(report: EnsureReport, [name, what]: Outcome): void {
  report[what].push(name);
}

/** Throws unless the connected server has JetStream and is at least {@link MIN_SERVER_VERSION}. */
export function checkServer(bus: BusConnection): void {
  const info = bus.nc.info;
  if (info === undefined) throw new ResourceError("not connected: no server info");
  if (!info.jetstream)
    throw new ResourceError(
      `nats-server ${info.version} at ${bus.nc.getServer()} has JetStream disabled (start it with -js)`,
    );
  if (info.max_payload < SystemLimits.serverMaxPayloadBytes) {
    throw new ResourceError(
      `nats-server at ${bus.nc.getServer()} has max_payload ${info.max_payload}; the bus needs at least ${SystemLimits.serverMaxPayloadBytes} (the codec limit plus the header budget)`,
    );
  }
  if (compareVersions(info.version, MIN_SERVER_VERSION) < 0) {
    throw new ResourceError(
      `nats-server ${info.version} is older than ${MIN_SERVER_VERSION}, which the bus needs`,
    );
  }
}

function compareVersions(a: string, b: string): number {
  const pa = versionParts(a);
  const pb = versionParts(b);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function versionParts(version: string): number[] {
  const match = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (match === null) throw new ResourceError(`cannot read the nats-server version '${version}'`);
  return match.slice(1).map(Number);
}

/** The stream configuration the bus wants for declaration `decl` under `ns`. */
export function streamConfig(
  ns: string,
  key: StreamKey,
  decl: StreamDeclaration,
): Partial<StreamConfig> & { name: string } {
  return {
    name: streamName(ns, key),
    subjects: decl.subjects.map((s) => subjectFilter(ns, s)),
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    num_replicas: 1,
    max_age: nanos(decl.maxAgeMs),
    max_bytes: decl.maxBytes,
    max_msg_size: decl.maxMsgSize,
    discard: decl.discard === "new" ? DiscardPolicy.New : DiscardPolicy.Old,
    duplicate_window: nanos(decl.duplicateWindowMs),
  };
}

const mutableStreamFields = ["max_age", "max_bytes", "max_msg_size", "discard", "duplicate_window"] as const;

/**
 * The configuration of the advisory stream: the max-deliveries advisories of every declared stream
 * under `ns` (nats-server 2.9 lets a stream capture `$JS.EVENT.ADVISORY.>` subjects of its account).
 */
export function advisoryStreamConfig(ns: string): Partial<StreamConfig> & { name: string } {
  return {
    name: advisoryStreamName(ns),
    subjects: (Object.keys(streams) as StreamKey[]).map((k) => maxDeliveriesSubject(streamName(ns, k), "*")),
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    num_replicas: 1,
    max_age: nanos(advisoryStream.maxAgeMs),
    max_bytes: advisoryStream.maxBytes,
    max_msg_size: SystemLimits.serverMaxPayloadBytes,
    discard: DiscardPolicy.Old,
    duplicate_window: nanos(advisoryStream.duplicateWindowMs),
  };
}

/** Creates stream `key` or brings its limits and subjects to the declaration. */
export function ensureStream(
  jsm: JetStreamManager,
  ns: string,
  key: StreamKey,
  decl: StreamDeclaration,
): Promise<Outcome> {
  return ensureStreamConfig(jsm, streamConfig(ns, key, decl));
}

/** Creates stream `want.name` or brings its limits and subjects to `want`. */
async function ensureStreamConfig(
  jsm: JetStreamManager,
  want: Partial<StreamConfig> & { name: string },
): Promise<Outcome> {
  const have = await streamInfo(jsm, want.name);
  if (have === undefined) {
    try {
      await jsm.streams.add(want);
      return [want.name, "created"];
    } catch (err) {
      const raced = await streamInfo(jsm, want.name);
      if (raced === undefined)
        throw new ResourceError(`cannot create stream ${want.name}: ${errText(err)}`, { cause: err });
      return reconcileStream(jsm, want, raced);
    }
  }
  return reconcileStream(jsm, want, have);
}

async function reconcileStream(
  jsm: JetStreamManager,
  want: Partial<StreamConfig> & { name: string },
  have: StreamConfig,
): Promise<Outcome> {
  if (have.storage !== want.storage || have.retention !== want.retention) {
    throw new ResourceError(
      `stream ${want.name} exists with storage=${have.storage} retention=${have.retention}; the declaration needs storage=${want.storage} retention=${want.retention} (these cannot change: delete the stream to recreate it)`,
    );
  }
  const subjectsDiffer =
    [...(have.subjects ?? [])].sort().join(" ") !== [...(want.subjects ?? [])].sort().join(" ");
  const differs = subjectsDiffer || mutableStreamFields.some((f) => have[f] !== want[f]);
  if (!differs) return [want.name, "unchanged"];
  const { name, retention: _r, storage: _s, ...update } = want;
  try {
    await jsm.streams.update(name, { ...update });
  } catch (err) {
    throw new ResourceError(`cannot update stream ${name}: ${errText(err)}`, { cause: err });
  }
  return [name, "updated"];
}

async function streamInfo(jsm: JetStreamManager, name: string): Promise<StreamConfig | undefined> {
  try {
    return (await jsm.streams.info(name)).config;
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound) return undefined;
    throw err;
  }
}

/**
 * The consumer configuration the bus wants for durable `name`; a consumer created from it (anew or
 * after a deletion) starts `replayWindowMs` before `now`, not at the start of the stream.
 */
export function consumerConfig(
  ns: string,
  name: string,
  decl: ConsumerDeclaration,
  now = Date.now(),
): Partial<ConsumerConfig> {
  return {
    durable_name: name,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.StartTime,
    opt_start_time: new Date(now - decl.replayWindowMs).toISOString(),
    replay_policy: ReplayPolicy.Instant,
    filter_subject: subjectFilter(ns, decl.subject, decl.params),
    ack_wait: nanos(decl.ackWaitMs),
    max_deliver: decl.maxDeliver,
    max_ack_pending: decl.maxAckPending,
  };
}

const mutableConsumerFields = ["ack_wait", "max_deliver", "max_ack_pending", "filter_subject"] as const;

/** Creates durable consumer `name` on its stream or brings it to the declaration. */
export async function ensureConsumer(
  bus: BusConnection,
  jsm: JetStreamManager,
  name: string,
  decl: ConsumerDeclaration,
): Promise<Outcome> {
  const stream = streamName(bus.namespace, decl.stream);
  const want = consumerConfig(bus.namespace, name, decl);
  const label = `${stream}/${name}`;
  const read = async (): Promise<ConsumerConfig | undefined> => {
    try {
      return (await jsm.consumers.info(stream, name)).config;
    } catch (err) {
      if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound)
        return undefined;
      throw new ResourceError(`cannot read consumer ${label}: ${errText(err)}`, { cause: err });
    }
  };
  let have = await read();
  try {
    if (have === undefined) {
      try {
        await jsm.consumers.add(stream, want);
        return [label, "created"];
      } catch (err) {
        // Another process (a second supervisor starting at once) may have created it since the read:
        // then it is checked like any existing consumer.
        have = await read();
        if (have === undefined) throw err;
      }
    }
    if (have.ack_policy !== want.ack_policy || have.deliver_policy !== want.deliver_policy) {
      throw new ResourceError(
        `consumer ${label} exists with ack_policy=${have.ack_policy} deliver_policy=${have.deliver_policy}; the declaration needs ${want.ack_policy}/${want.deliver_policy} (delete the consumer to recreate it)`,
      );
    }
    const current = have;
    if (mutableConsumerFields.every((f) => current[f] === want[f])) return [label, "unchanged"];
    const {
      durable_name: _d,
      ack_policy: _a,
      deliver_policy: _p,
      opt_start_time: _t,
      replay_policy: _r,
      ...update
    } = want;
    await jsm.consumers.update(stream, name, update);
    return [label, "updated"];
  } catch (err) {
    if (err instanceof ResourceError) throw err;
    throw new ResourceError(`cannot create or update consumer ${label}: ${errText(err)}`, { cause: err });
  }
}

/** Creates KV bucket `key` (or binds to it when it exists with the same limits). */
export async function ensureBucket(bus: BusConnection, key: BucketKey): Promise<Outcome> {
  const name = storeName(bus.namespace, key);
  const limits = kvBuckets[key];
  const kvm = new Kvm(bus.nc);
  const existed = await streamExists(bus, `KV_${name}`);
  try {
    await kvm.create(name, {
      history: limits.history,
      max_bytes: limits.maxBytes,
      maxValueSize: limits.maxValueSize,
    });
  } catch (err) {
    throw new ResourceError(`cannot create KV bucket ${name}: ${errText(err)}`, { cause: err });
  }
  if (!existed) return [name, "created"];
  return alignLimits(bus, name, `KV_${name}`, {
    max_msgs_per_subject: limits.history,
    max_bytes: limits.maxBytes,
    max_msg_size: limits.maxValueSize,
  });
}

/** Creates object store `key` (or binds to it when it exists). */
export async function ensureObjectStore(bus: BusConnection, key: ObjectStoreKey): Promise<Outcome> {
  const name = storeName(bus.namespace, key);
  const existed = await streamExists(bus, `OBJ_${name}`);
  try {
    await new Objm(bus.nc).create(name, {
      max_bytes: objectStoreLimits[key].maxBytes,
      storage: StorageType.File,
    });
  } catch (err) {
    throw new ResourceError(`cannot create object store ${name}: ${errText(err)}`, { cause: err });
  }
  if (!existed) return [name, "created"];
  return alignLimits(bus, name, `OBJ_${name}`, { max_bytes: objectStoreLimits[key].maxBytes });
}

type StoreLimits = { max_msgs_per_subject?: number; max_bytes?: number; max_msg_size?: number };

/**
 * Brings the limits of an existing bucket or object store (the stream behind it) to the declared ones:
 * creating a bucket that exists binds to it without comparing, so a changed declaration is applied here.
 */
async function alignLimits(
  bus: BusConnection,
  name: string,
  stream: string,
  wanted: StoreLimits,
): Promise<Outcome> {
  const jsm = await jetStreamManagerOf(bus);
  try {
    const { config } = await jsm.streams.info(stream);
    const current: StoreLimits = config;
    const differs = (Object.keys(wanted) as (keyof StoreLimits)[]).some((k) => current[k] !== wanted[k]);
    if (!differs) return [name, "unchanged"];
    await jsm.streams.update(stream, { ...config, ...wanted });
    return [name, "updated"];
  } catch (err) {
    throw new ResourceError(`cannot apply the declared limits to ${name}: ${errText(err)}`, { cause: err });
  }
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
