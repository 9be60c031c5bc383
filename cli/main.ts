import { Command, CommanderError } from "commander";
import { commands, groups } from "./commands.ts";
import { errorText } from "./errors.ts";
import { USAGE_EXIT } from "./flags.ts";

/** The `esper` program and the commander Command of each name of the command table. */
export interface EsperProgram {
  readonly program: Command;
  readonly byName: ReadonlyMap<string, Command>;
}

/**
 * The `esper` program with every command of the table (two-word names under their group), each
 * holding only its summary until its module `define`s it. Usage errors and help throw a
 * CommanderError instead of exiting.
 */
export function esperProgram(): EsperProgram {
  const program = new Command("esper")
    .description("Esper: morphogenetic neural-network training as actor processes over NATS.")
    .exitOverride()
    .showHelpAfterError("(run with -h for the usage)")
    .addHelpText(
      "after",
      "\nRun `esper <command> -h` for the arguments, options, environment and exit codes of a command.",
    );
  const groupCommands = new Map<string, Command>();
  const byName = new Map<string, Command>();
  for (const [name, entry] of Object.entries(commands)) {
    const [first = name, second] = name.split(" ");
    let parent = program;
    if (second !== undefined) {
      let group = groupCommands.get(first);
      if (group === undefined) {
        const summary = groups[first];
        if (summary === undefined)
          throw new Error(`command '${name}': no group '${first}' in cli/commands.ts`);
        group = program.command(first).description(summary);
        groupCommands.set(first, group);
      }
      parent = group;
    }
    byName.set(
      name,
      parent
        .command(second ?? first)
        .summary(entry.summary)
        .description(entry.summary),
    );
  }
  for (const [first, group] of groupCommands) {
    group.summary(`${groups[first]}: ${group.commands.map((c) => c.name()).join(", ")}`);
  }
  return { program, byName };
}

/**
 * Entry of the `esper` command: loads only the module of the command named by the leading words of
 * `argv` (also after `help`), lets it define its options, and parses `argv` with commander. Returns the
 * exit code: the command's own, 0 for help, 2 for a usage error, 1 when the command throws.
 */
export async function main(argv: readonly string[]): Promise<number> {
  const { program, byName } = esperProgram();
  const words = argv[0] === "help" ? argv.slice(1) : argv;
  const name = [words.slice(0, 2).join(" "), words[0]].find((n) => n !== undefined && byName.has(n));
  let code = 0;
  try {
    const cmd = name === undefined ? undefined : byName.get(name);
    const entry = name === undefined ? undefined : commands[name];
    if (cmd !== undefined && entry !== undefined) {
      const mod = await entry.load();
      mod.define(cmd);
      cmd.action(async () => {
        code = await mod.action(cmd);
      });
    }
    await program.parseAsync([...argv], { from: "user" });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : USAGE_EXIT;
    process.stderr.write(`esper${name === undefined ? "" : ` ${name}`}: ${errorText(error)}\n`);
    return 1;
  }
}
