import { Command, InvalidArgumentError } from "commander";
import { describe, expect, it } from "vitest";
import { durationMs, finiteNumber, helpFooter, integer, port, repeated } from "./flags.ts";

describe("flag parsers", () => {
  it("integer takes optional sign and digits within its range, else a commander InvalidArgumentError", () => {
    expect(integer(0)("0")).toBe(0);
    expect(integer(-5)("-5")).toBe(-5);
    expect(integer(1, 10)("10")).toBe(10);
    for (const bad of ["", " 1", "1.0", "1e3", "0x10", "ten", "11", "0", "9007199254740993"]) {
      expect(() => integer(1, 10)(bad), bad).toThrow(InvalidArgumentError);
    }
    expect(() => integer(2)("1")).toThrow("Must be an integer >= 2.");
    expect(() => port("65536")).toThrow("Must be an integer 0-65535.");
  });

  it("durationMs is an integer from 1 in milliseconds", () => {
    expect(durationMs()("1")).toBe(1);
    expect(() => durationMs(600_000)("0")).toThrow("Must be an integer 1-600000 (milliseconds).");
    expect(() => durationMs()("600001.5")).toThrow("Must be an integer >= 1 (milliseconds).");
  });

  it("finiteNumber refuses blanks, NaN and infinities", () => {
    expect(finiteNumber("1e-4")).toBe(0.0001);
    for (const bad of ["", " ", "abc", "Infinity", "NaN"])
      expect(() => finiteNumber(bad), bad).toThrow("Must be a number.");
  });

  it("repeated collects values in order", () => {
    expect(repeated("b", repeated("a", undefined))).toEqual(["a", "b"]);
  });
});

describe("helpFooter", () => {
  it("puts the environment and the aligned exit codes after the options", () => {
    const cmd = new Command("x").option("--y", "why");
    helpFooter(cmd, {
      environment: ["ESPER_X: what"],
      exitCodes: { 0: "ok", 130: "signal", other: "its own" },
    });
    let help = "";
    cmd
      .configureOutput({
        writeOut: (s) => {
          help += s;
        },
      })
      .outputHelp();
    expect(help).toMatch(
      /-h, --help +display help for command\n\nEnvironment:\n {2}ESPER_X: what\n\nExit codes:\n {2}0 {6}ok\n {2}130 {4}signal\n {2}other {2}its own\n$/,
    );
  });
});
