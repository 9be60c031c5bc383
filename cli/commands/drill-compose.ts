import { parseArgs } from "node:util";
import { runComposeDrill } from "../../harness/drill/compose-drill.ts";

const HELP = `usage: esper drill compose [--json]

Runs docker-compose.yml for real and tears it down: starts dockerd when it is installed and not
running (and stops it at the end); uses the official base images when they can be pulled, else builds
stand-ins offline (Debian from debootstrap with Debian's nats-server; this machine's Node 20 with an
npm cache of the production packages), cached under content tags; builds the Dockerfile;
\`docker-compose up -d\` under its own project name with fresh secrets; \`esper command --pause\` from
outside as the operator; every container healthy; SIGKILLs Tamiyo's process and waits for Docker and
Weatherlight to bring it back; \`--resume\`; Tolaria ends the job; \`docker-compose down -v\`.
Needs root (dockerd, debootstrap, the kill). Progress goes to stderr.

  --json   print the report as one JSON object (the only output format; accepted for explicitness)

Exit codes: 0 passed; 1 failed (the report names the step in failedStep); 2 bad arguments.`;

/** `esper drill compose`: see HELP. */
export async function run(args: readonly string[]): Promise<number> {
  try {
    const { values } = parseArgs({
      args: [...args],
      options: { json: { type: "boolean" }, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: false,
    });
    if (values.help) {
      process.stdout.write(`${HELP}\n`);
      return 0;
    }
  } catch (error) {
    process.stderr.write(`esper drill compose: ${(error as Error).message}\n${HELP}\n`);
    return 2;
  }
  const report = await runComposeDrill({ log: (line) => process.stderr.write(`drill: ${line}\n`) });
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  return report.ok ? 0 : 1;
}
