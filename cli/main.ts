import { commands } from "./commands.ts";
import { errorText } from "./errors.ts";

/** Usage text listing every command, or only those of a group such as `bench` when `group` is given. */
export function usage(group?: string): string {
  const lines = Object.entries(commands)
    .filter(([name]) => group === undefined || name.startsWith(`${group} `))
    .map(([name, c]) => `  esper ${name.padEnd(18)} ${c.summary}`);
  return ["usage:", ...lines, "", "Run `esper <command> --help` for the options of a command."].join("\n");
}

const HELP_WORDS: ReadonlySet<string | undefined> = new Set([undefined, "--help", "-h", "help"]);

/**
 * Entry of the `esper` command. Resolves the longest registered command name from the leading words
 * of `argv` and runs it with the rest. Returns the process exit code.
 */
export async function main(argv: readonly string[]): Promise<number> {
  for (let words = Math.min(2, argv.length); words > 0; words--) {
    const name = argv.slice(0, words).join(" ");
    const command = commands[name];
    if (command) {
      try {
        const mod = await command.load();
        return await mod.run(argv.slice(words));
      } catch (error) {
        process.stderr.write(`esper ${name}: ${errorText(error)}\n`);
        return 1;
      }
    }
  }
  const group = Object.keys(commands).some((name) => name.startsWith(`${argv[0]} `)) ? argv[0] : undefined;
  const asked = HELP_WORDS.has(group === undefined ? argv[0] : argv[1]);
  (asked ? process.stdout : process.stderr).write(
    `${asked ? "" : `esper: unknown command '${argv.join(" ")}'\n`}${usage(group)}\n`,
  );
  return asked ? 0 : 2;
}
