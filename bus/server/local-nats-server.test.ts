import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findExecutable } from "./executable-path.ts";
import { NatsServerStartError, startLocalNatsServer } from "./local-nats-server.ts";

let dir = "";
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "esper-exec-"));
  await writeFile(join(dir, "runnable"), "#!/bin/sh\n");
  await chmod(join(dir, "runnable"), 0o755);
  await writeFile(join(dir, "plain"), "not executable\n");
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("findExecutable", () => {
  it("finds an executable file on the given PATH and skips plain files, directories and relative entries", () => {
    expect(findExecutable("runnable", `relative:${dir}`)).toBe(join(dir, "runnable"));
    expect(findExecutable("plain", dir)).toBeUndefined();
    expect(findExecutable("missing", dir)).toBeUndefined();
    expect(findExecutable("runnable", "relative")).toBeUndefined();
    expect(findExecutable(join(dir, "runnable"), "")).toBe(join(dir, "runnable"));
    expect(findExecutable(dir, "")).toBeUndefined();
  });
});

describe("startLocalNatsServer", () => {
  it("names the Debian package nats-server when the binary is missing", async () => {
    const err = await startLocalNatsServer({
      storeDir: join(dir, "store"),
      binary: "nats-server-that-is-not-installed",
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NatsServerStartError);
    expect((err as Error).message).toBe(
      "nats-server-that-is-not-installed not found on PATH: install the Debian package nats-server (apt-get install nats-server)",
    );
  });

  it("starts the binary from PATH with JetStream and stops it", async () => {
    const server = await startLocalNatsServer({ storeDir: join(dir, "js") });
    expect(server.url).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/);
    await server.stop();
    expect(await server.exited).toBeDefined();
  });
});
