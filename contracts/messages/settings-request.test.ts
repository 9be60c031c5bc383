import { describe, expect, it } from "vitest";
import { validate } from "../codec.ts";

describe("SettingsRequest", () => {
  it("refuses a set without changes, naming changes", () => {
    expect(() => validate("SettingsRequest", { requestId: "r1", verb: "set", requestedBy: "op" })).toThrow(
      /changes: a set needs at least one change/,
    );
  });

  it("refuses a get carrying changes, naming changes", () => {
    const changes = [{ path: "worker.concurrency", value: 2 }];
    expect(() =>
      validate("SettingsRequest", { requestId: "r1", verb: "get", requestedBy: "op", changes }),
    ).toThrow(/changes: a get carries no changes/);
  });

  it("refuses a path that is not dotted camelCase keys, naming the path", () => {
    const changes = [{ path: "worker..concurrency", value: 2 }];
    expect(() =>
      validate("SettingsRequest", { requestId: "r1", verb: "set", requestedBy: "op", changes }),
    ).toThrow(/changes\[0\]\.path: must be camelCase keys joined by dots/);
  });
});

describe("SettingsReply", () => {
  it("refuses a refusal without its error and an ok reply without the settings", () => {
    expect(() => validate("SettingsReply", { requestId: "r1", ok: false, revision: 1 })).toThrow(
      /error: a refusal carries the error/,
    );
    expect(() => validate("SettingsReply", { requestId: "r1", ok: true, revision: 1 })).toThrow(
      /settings: an ok reply carries the settings/,
    );
  });
});
