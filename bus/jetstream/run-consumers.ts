import { JetStreamApiCodes, JetStreamApiError, type JetStreamManager } from "@nats-io/jetstream";
import { checkToken } from "../../contracts/subjects.ts";
import type { BusConnection } from "../connection.ts";
import { jetStreamManagerOf } from "./context.ts";
import {
  advisoryStreamName,
  type DeclaredConsumer,
  type RunConsumerName,
  runConsumers,
  streamName,
} from "./declarations.ts";
import { ensureConsumer } from "./ensure.ts";
import { sweeperName } from "./max-deliveries.ts";

/** A per-run consumer: template `name` of `runConsumers` for training run `run`. */
export interface RunConsumerRef {
  readonly name: RunConsumerName;
  readonly run: string;
}

/**
 * The durable name of template `name` for run `run`: `<name>-<run>`. The run id must be a single subject
 * token (it is the `{run}` token of the run's subjects), else a SubjectError names it.
 */
export function runConsumerName(name: RunConsumerName, run: string): string {
  return `${name}-${checkToken("run id", run)}`;
}

/** The concrete consumer of template `name` for run `run`: the template with `run` added to its params. */
export function runConsumer(name: RunConsumerName, run: string): DeclaredConsumer {
  const template = runConsumers[name];
  const params = "params" in template ? template.params : {};
  return { name: runConsumerName(name, run), declaration: { ...template, params: { ...params, run } } };
}

/** Creates the run's durable consumer of `ref` or brings it to the template (idempotent); returns it. */
export async function ensureRunConsumer(bus: BusConnection, ref: RunConsumerRef): Promise<DeclaredConsumer> {
  const consumer = runConsumer(ref.name, ref.run);
  await ensureConsumer(bus, await jetStreamManagerOf(bus), consumer.name, consumer.declaration);
  return consumer;
}

/**
 * Deletes every per-run durable consumer of run `run` (one per template) and its max-deliveries
 * sweeper, at the end of the run; returns the deleted ones (`<stream>/<durable>`). Consumers never
 * created are skipped. Stop the run's consumers first: a consumer deleted under a running `consume()`
 * makes it fail.
 */
export async function removeRunConsumers(bus: BusConnection, run: string): Promise<string[]> {
  const jsm = await jetStreamManagerOf(bus);
  const advisories = advisoryStreamName(bus.namespace);
  const removed: string[] = [];
  for (const name of Object.keys(runConsumers) as RunConsumerName[]) {
    const { name: durable, declaration } = runConsumer(name, run);
    const stream = streamName(bus.namespace, declaration.stream);
    if (await deleteConsumer(jsm, stream, durable)) removed.push(`${stream}/${durable}`);
    const sweeper = sweeperName(durable);
    if (await deleteConsumer(jsm, advisories, sweeper)) removed.push(`${advisories}/${sweeper}`);
  }
  bus.emit("bus.run_consumers_removed", "info", { run, removed: removed.length });
  return removed;
}

/** Deletes consumer `name` of `stream`: true when deleted, false when it did not exist. */
async function deleteConsumer(jsm: JetStreamManager, stream: string, name: string): Promise<boolean> {
  try {
    return await jsm.consumers.delete(stream, name);
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound) return false;
    throw new Error(`cannot delete consumer ${stream}/${name}: ${String(err)}`, { cause: err });
  }
}
