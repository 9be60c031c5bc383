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

const incarnations = new WeakMap<BusConnection, Map<string, Promise<string>>>();

/**
 * The `created` timestamp of stream `name` (what tells one incarnation of a stream from a recreated
 * one), read once per connection; `refresh` reads it again (a consumer starting re-reads it).
 */
export function streamIncarnation(bus: BusConnection, name: string, refresh = false): Promise<string> {
  let byStream = incarnations.get(bus);
  if (byStream === undefined) {
    byStream = new Map();
    incarnations.set(bus, byStream);
  }
  let created = refresh ? undefined : byStream.get(name);
  if (created === undefined) {
    const read = jetStreamManagerOf(bus).then(async (jsm) => (await jsm.streams.info(name)).created);
    byStream.set(name, read);
    read.catch(() => {
      if (byStream.get(name) === read) byStream.delete(name);
    });
    created = read;
  }
  return created;
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
