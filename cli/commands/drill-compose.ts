import type { Command } from "commander";
import { runComposeDrill } from "../../harness/drill/compose-drill.ts";
import { helpFooter, jsonOption } from "../flags.ts";

/** `esper drill compose [--json]`. */
export function define(cmd: Command): void {
  cmd
    .description(
      "Runs docker-compose.yml for real and tears it down: starts dockerd when it is installed and not " +
        "running (and stops it at the end); uses the official base images when they can be pulled, else " +
        "builds stand-ins offline (Debian from debootstrap with Debian's nats-server; this machine's Node 20 " +
        "with an npm cache of the production packages), cached under content tags; builds the Dockerfile; " +
        "`docker-compose up -d` under its own project name with fresh secrets; `esper command --pause` from " +
        "outside as the operator; every container healthy; SIGKILLs Tamiyo's process and waits for Docker " +
        "and Weatherlight to bring it back; `--resume`; Tolaria ends the job; `docker-compose down -v`. " +
        "Needs root (dockerd, debootstrap, the kill). Progress goes to stderr.",
    )
    .addOption(jsonOption());
  helpFooter(cmd, {
    exitCodes: { 0: "passed", 1: "failed (the report names the step in failedStep)", 2: "bad arguments" },
  });
}

/** `esper drill compose`: the compose stack for real; prints the JSON report, exit 1 on failure. */
export async function action(): Promise<number> {
  const report = await runComposeDrill({ log: (line) => process.stderr.write(`drill: ${line}\n`) });
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  return report.ok ? 0 : 1;
}
