import { afterEach, describe, expect, it, vi } from "vitest";
import { main } from "./main.ts";

function capture() {
  const out = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
  const err = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
  return { out: () => out.mock.calls.join(""), err: () => err.mock.calls.join("") };
}

afterEach(() => vi.restoreAllMocks());

describe("esper dispatch", () => {
  it.each([[[]], [["--help"]], [["-h"]], [["help"]]])("lists every command on %j, exit 0", async (argv) => {
    const io = capture();
    expect(await main(argv)).toBe(0);
    expect(io.out()).toMatch(/^ {2}esper up [\s\S]*esper bench loop/m);
  });

  it.each([[["bench", "-h"]], [["bench", "--help"]], [["bench"]]])(
    "lists a group's commands on %j",
    async (argv) => {
      const io = capture();
      expect(await main(argv)).toBe(0);
      expect(io.out()).toMatch(/esper bench loop/);
      expect(io.out()).not.toMatch(/^ {2}esper up /m);
    },
  );

  it("refuses an unknown command with exit 2 and the usage on stderr", async () => {
    const io = capture();
    expect(await main(["bench", "nothing"])).toBe(2);
    expect(io.err()).toMatch(/unknown command 'bench nothing'[\s\S]*esper bench loop/);
    expect(await main(["frobnicate"])).toBe(2);
    expect(io.err()).toMatch(/unknown command 'frobnicate'[\s\S]*^ {2}esper up /m);
  });
});
