import {
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
} from "@nats-io/jetstream";
import type { BusConnection } from "../connection.ts";

const clients = new WeakMap<BusConnection, JetStreamClient>();
const managers = new WeakMap<BusConnection, Promise<JetStreamManager>>();

/** The JetStream client of a bus connection (created once per connection). */
export function jetStreamOf(bus: BusConnection): JetStreamClient {
  let js = clients.get(bus);
  if (js === undefined) {
    js = jetstream(bus.nc);
    clients.set(bus, js);
  }
  return js;
}

/** The JetStream manager of a bus connection (created once; fails when JetStream is not enabled). */
export function jetStreamManagerOf(bus: BusConnection): Promise<JetStreamManager> {
  let jsm = managers.get(bus);
  if (jsm === undefined) {
    jsm = jetstreamManager(bus.nc, { checkAPI: true });
    managers.set(bus, jsm);
    jsm.catch(() => managers.delete(bus));
  }
  return jsm;
}

/**
 * The `created` timestamp of stream `name`: what tells one incarnation of a stream from a recreated one
 * (whose sequences restart at 1). Read from the server on every call, so a recreation is never missed.
 */
export async function streamIncarnation(bus: BusConnection, name: string): Promise<string> {
  const jsm = await jetStreamManagerOf(bus);
  return (await jsm.streams.info(name)).created;
}

/** Whether stream `name` exists on the server. */
export async function streamExists(bus: BusConnection, name: string): Promise<boolean> {
  const jsm = await jetStreamManagerOf(bus);
  try {
    await jsm.streams.info(name);
    return true;
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound) return false;
    throw err;
  }
}
