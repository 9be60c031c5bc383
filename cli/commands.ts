/** A command module: `run` takes the arguments after the command name and returns an exit code. */
export interface CommandModule {
  run(args: readonly string[]): Promise<number>;
}

/** One entry of the command table: a one-line summary and a lazy loader (keeps startup fast). */
export interface CommandEntry {
  readonly summary: string;
  load(): Promise<CommandModule>;
}

/** Every `esper` command, by its name (one or two words). */
export const commands: Readonly<Record<string, CommandEntry>> = {
  "bench codec": {
    summary: "encode/decode + validation timings of Leyline messages vs JSON (prints JSON)",
    load: () => import("./commands/bench-codec.ts"),
  },
};
