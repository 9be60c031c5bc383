import { afterAll, beforeAll } from "vitest";
import { type BusConnection, type BusConnectionOptions, connectBus } from "../bus/connection.ts";
import { ensureResources } from "../bus/jetstream/ensure.ts";
import type { BusEvent } from "../bus/observer.ts";
import { startNatsServer, type TestNatsServer } from "./nats-server.ts";

/** The server of {@link useNatsServer}, readable once `beforeAll` has run. */
export interface TestServerFixture {
  readonly server: TestNatsServer;
}

/** Starts a nats-server in `beforeAll` and stops it in `afterAll` of the enclosing vitest scope. */
export function useNatsServer(): TestServerFixture {
  let server: TestNatsServer | undefined;
  beforeAll(async () => {
    server = await startNatsServer();
  });
  afterAll(async () => {
    await server?.stop();
  });
  return {
    get server() {
      if (server === undefined) throw new Error("test nats-server read before beforeAll ran");
      return server;
    },
  };
}

/** Options of {@link useTestBus}. */
export interface TestBusOptions {
  /** Declare the bus's streams, consumers, buckets and stores (`ensureResources`) after connecting. */
  readonly ensure?: boolean;
  /** Subject namespace; default a random `t…` token so test files never share resources. */
  readonly namespace?: string;
}

/** A server, one connection to it and the events the connection reported, for one test scope. */
export interface TestBusFixture extends TestServerFixture {
  readonly bus: BusConnection;
  /** Every event the connection's observer received, in order. */
  readonly events: BusEvent[];
  readonly ns: string;
}

/**
 * Starts a nats-server and connects to it as `name` in `beforeAll` (optionally declaring the bus
 * resources); closes the connection and stops the server in `afterAll` of the enclosing vitest scope.
 */
export function useTestBus(name: string, opts: TestBusOptions = {}): TestBusFixture {
  const ns = opts.namespace ?? `t${Math.random().toString(36).slice(2, 8)}`;
  const events: BusEvent[] = [];
  const fixture = useNatsServer();
  let bus: BusConnection | undefined;
  beforeAll(async () => {
    const options: BusConnectionOptions = {
      ...fixture.server.address,
      name,
      namespace: ns,
      observer: { onEvent: (e) => events.push(e) },
    };
    bus = await connectBus(options);
    if (opts.ensure === true) await ensureResources(bus);
  });
  afterAll(async () => {
    await bus?.close();
  });
  return {
    get server() {
      return fixture.server;
    },
    get bus() {
      if (bus === undefined) throw new Error(`test bus ${name} read before beforeAll ran`);
      return bus;
    },
    events,
    ns,
  };
}
