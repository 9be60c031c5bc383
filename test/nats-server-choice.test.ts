import { describe, expect, it } from "vitest";
import {
  chooseNatsServer,
  DEFAULT_TEST_NATS_IMAGE,
  type NatsServerProbes,
  NoNatsServerError,
  testNatsImage,
} from "./nats-server-choice.ts";

const IMAGE = "nats:2.9.10-alpine";

/** Probes of a pretend machine; `asked` records which probes the choice needed. */
function machine(o: { binary?: string; docker?: boolean; image?: boolean }): NatsServerProbes & {
  asked: string[];
} {
  const asked: string[] = [];
  return {
    asked,
    binary() {
      asked.push("binary");
      return o.binary;
    },
    async docker() {
      asked.push("docker");
      return o.docker === true
        ? { reachable: true, why: "/var/run/docker.sock" }
        : { reachable: false, why: "no docker.sock found" };
    },
    async imagePresent(image) {
      asked.push(`image ${image}`);
      return o.image === true;
    },
  };
}

describe("chooseNatsServer", () => {
  it("uses the local binary by default without asking Docker anything", async () => {
    const m = machine({ binary: "/usr/sbin/nats-server", docker: true, image: true });
    const choice = await chooseNatsServer(undefined, IMAGE, m);
    expect(choice).toMatchObject({ kind: "binary", target: "/usr/sbin/nats-server" });
    expect(choice.why).toMatch(/default/);
    expect(m.asked).toEqual(["binary"]);
    expect((await chooseNatsServer("", IMAGE, m)).kind).toBe("binary");
  });

  it("uses a container when asked, even with the binary present", async () => {
    const choice = await chooseNatsServer(
      "container",
      IMAGE,
      machine({ binary: "/usr/sbin/nats-server", docker: true, image: false }),
    );
    expect(choice).toMatchObject({ kind: "container", target: IMAGE });
    expect(choice.why).toMatch(/ESPER_TEST_NATS=container/);
  });

  it("refuses ESPER_TEST_NATS=container when no Docker engine answers, saying why", async () => {
    await expect(
      chooseNatsServer("container", IMAGE, machine({ binary: "/usr/sbin/nats-server" })),
    ).rejects.toThrow(/ESPER_TEST_NATS=container but no Docker engine answers \(no docker.sock found\)/);
  });

  it("without the binary, uses a container only when the engine already holds the image", async () => {
    const present = machine({ docker: true, image: true });
    const choice = await chooseNatsServer(undefined, IMAGE, present);
    expect(choice).toMatchObject({ kind: "container", target: IMAGE });
    expect(present.asked).toEqual(["binary", "docker", `image ${IMAGE}`]);
    const err = await chooseNatsServer(undefined, IMAGE, machine({ docker: true, image: false })).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(NoNatsServerError);
    expect((err as Error).message).toMatch(/does not hold nats:2.9.10-alpine/);
    expect((err as Error).message).toMatch(/Debian package nats-server/);
  });

  it("names the Debian package when neither the binary nor a Docker engine is there", async () => {
    await expect(chooseNatsServer(undefined, IMAGE, machine({}))).rejects.toThrow(
      /nats-server is not on PATH and no Docker engine answers .*Debian package nats-server/,
    );
    await expect(chooseNatsServer("binary", IMAGE, machine({ docker: true, image: true }))).rejects.toThrow(
      /ESPER_TEST_NATS=binary but nats-server is not on PATH: install the Debian package nats-server/,
    );
  });

  it("refuses an unknown ESPER_TEST_NATS value, naming the variable", async () => {
    await expect(
      chooseNatsServer("docker", IMAGE, machine({ binary: "/usr/sbin/nats-server" })),
    ).rejects.toThrow("ESPER_TEST_NATS must be 'binary', 'container' or unset, got 'docker'");
  });
});

describe("testNatsImage", () => {
  it("takes the caller's image, else ESPER_TEST_NATS_IMAGE, else the default", () => {
    expect(testNatsImage("mine:1", "env:2")).toBe("mine:1");
    expect(testNatsImage(undefined, "esper-standin-nats:abc")).toBe("esper-standin-nats:abc");
    expect(testNatsImage(undefined, "")).toBe(DEFAULT_TEST_NATS_IMAGE);
    expect(testNatsImage(undefined, undefined)).toBe(DEFAULT_TEST_NATS_IMAGE);
  });
});
