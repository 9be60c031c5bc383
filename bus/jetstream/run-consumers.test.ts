import { JetStreamApiCodes } from "@nats-io/jetstream";
import { describe, expect, it } from "vitest";
import type { MessageInput } from "../../contracts/registry.ts";
import { RunMismatchError, SubjectError } from "../../contracts/subjects.ts";
import { sampleOf } from "../../contracts/testing/samples.ts";
import { useTestBus } from "../../test/bus-fixture.ts";
import { consume } from "./consume.ts";
import { jetStreamManagerOf } from "./context.ts";
import { advisoryStreamName, streamName } from "./declarations.ts";
import { maxDeliveriesSubject, sweeperName } from "./max-deliveries.ts";
import { publishToStream } from "./publish.ts";
import { removeRunConsumers, runConsumerName } from "./run-consumers.ts";

const tb = useTestBus("run-consumers-test", { ensure: true });
const { ns } = tb;

function command(id: string, run: string): MessageInput<"AdaptationCommand"> {
  return { ...sampleOf("AdaptationCommand", 1), trainingRunId: run, commandId: id };
}

async function consumerInfo(stream: string, name: string) {
  return (await jetStreamManagerOf(tb.bus)).consumers.info(stream, name);
}

describe("per-run consumers", () => {
  it("give each run on one namespace only its own commands", async () => {
    const got: Record<string, string[]> = { "run-a": [], "run-b": [] };
    const a = await consume(tb.bus, { name: "kasmina-commands", run: "run-a" }, (m) => {
      got["run-a"]?.push(m.commandId);
    });
    const b = await consume(tb.bus, { name: "kasmina-commands", run: "run-b" }, (m) => {
      got["run-b"]?.push(m.commandId);
    });
    const tolariaOfA = { params: { run: "run-a", target: "tolaria" } };
    await publishToStream(tb.bus, "command", command("cmd-a1", "run-a"), {
      params: { run: "run-a", target: "kasmina" },
    });
    await publishToStream(tb.bus, "command", command("cmd-b1", "run-b"), {
      params: { run: "run-b", target: "kasmina" },
    });
    await publishToStream(tb.bus, "command", command("cmd-a-tolaria", "run-a"), tolariaOfA);
    await expect.poll(() => got["run-a"]?.length).toBe(1);
    await expect.poll(() => got["run-b"]?.length).toBe(1);
    await a.stop();
    await b.stop();
    expect(got).toEqual({ "run-a": ["cmd-a1"], "run-b": ["cmd-b1"] });
    const commands = streamName(ns, "commands");
    const info = await consumerInfo(commands, "kasmina-commands-run-a");
    expect(info.config.filter_subject).toBe(`${ns}.command.run-a.kasmina`);
    expect(info).toMatchObject({ num_pending: 0, num_ack_pending: 0, delivered: { consumer_seq: 1 } });
    const ofB = await consumerInfo(commands, "kasmina-commands-run-b");
    expect(ofB).toMatchObject({ num_pending: 0, delivered: { consumer_seq: 1 } });
  });

  it("are created idempotently on each use and resume where the run's consumer left off", async () => {
    const seen: string[] = [];
    const params = { params: { run: "run-c", target: "tolaria" } };
    const first = await consume(tb.bus, { name: "tolaria-commands", run: "run-c" }, (m) => {
      seen.push(m.commandId);
    });
    await publishToStream(tb.bus, "command", command("cmd-c1", "run-c"), params);
    await expect.poll(() => seen).toEqual(["cmd-c1"]);
    await first.stop();
    await publishToStream(tb.bus, "command", command("cmd-c2", "run-c"), params);
    const again = await consume(tb.bus, { name: "tolaria-commands", run: "run-c" }, (m) => {
      seen.push(m.commandId);
    });
    await expect.poll(() => seen).toEqual(["cmd-c1", "cmd-c2"]);
    await again.stop();
    const names: string[] = [];
    for await (const c of await (await jetStreamManagerOf(tb.bus)).consumers.list(streamName(ns, "commands")))
      names.push(c.name);
    expect(names.filter((n) => n === "tolaria-commands-run-c")).toHaveLength(1);
  });

  it("refuse a run id that is not a subject token", () => {
    expect(() => runConsumerName("kasmina-commands", "run.a")).toThrow(SubjectError);
    expect(() => runConsumerName("kasmina-commands", "run a")).toThrow(/run id 'run a'/);
  });

  it("are removed with their max-deliveries sweepers at the end of the run, other runs kept", async () => {
    const ends = await consume(tb.bus, { name: "kasmina-seed-reports", run: "run-end" }, () => {});
    const stays = await consume(tb.bus, { name: "kasmina-seed-reports", run: "run-stays" }, () => {});
    await ends.stop();
    await stays.stop();
    const seeds = streamName(ns, "seeds");
    const advisories = advisoryStreamName(ns);
    const durable = runConsumerName("kasmina-seed-reports", "run-end");
    expect((await consumerInfo(advisories, sweeperName(durable))).config.filter_subject).toBe(
      maxDeliveriesSubject(seeds, durable),
    );
    const removed = await removeRunConsumers(tb.bus, "run-end");
    expect(removed).toEqual([`${seeds}/${durable}`, `${advisories}/${sweeperName(durable)}`]);
    await expect(consumerInfo(seeds, durable)).rejects.toMatchObject({
      code: JetStreamApiCodes.ConsumerNotFound,
    });
    await expect(consumerInfo(advisories, sweeperName(durable))).rejects.toMatchObject({
      code: JetStreamApiCodes.ConsumerNotFound,
    });
    await expect(consumerInfo(seeds, "kasmina-seed-reports-run-stays")).resolves.toBeDefined();
    expect(await removeRunConsumers(tb.bus, "run-end")).toEqual([]);
  });
});

describe("run-level publish", () => {
  it("refuses a message whose run id differs from the subject's run token and stores nothing", async () => {
    const jsm = await jetStreamManagerOf(tb.bus);
    const before = (await jsm.streams.info(streamName(ns, "commands"))).state.messages;
    await expect(
      publishToStream(tb.bus, "command", command("cmd-mismatch", "run-a"), {
        params: { run: "run-b", target: "kasmina" },
      }),
    ).rejects.toThrow(RunMismatchError);
    await expect(
      publishToStream(
        tb.bus,
        "emergency",
        { ...sampleOf("EmergencySignal", 1), runId: "run-a" },
        { params: { run: "run-b" } },
      ),
    ).rejects.toThrow(/field runId 'run-a' differs from the subject's run token 'run-b'/);
    expect((await jsm.streams.info(streamName(ns, "commands"))).state.messages).toBe(before);
  });
});
