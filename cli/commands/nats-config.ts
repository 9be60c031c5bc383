import type { Command } from "commander";
import { stackServerConfig } from "../../bus/server/stack-server-config.ts";
import { checkToken } from "../../contracts/subjects.ts";
import { errorText } from "../errors.ts";
import { helpFooter, usageError } from "../flags.ts";

/** `esper nats-config [--namespace NS]`. */
export function define(cmd: Command): void {
  cmd
    .description(
      "Prints the nats-server configuration of a deployed stack (deploy/nats/esper.conf is this output for " +
        "namespace esper): one user per actor, allowed to publish only the subjects the subject registry says " +
        "it owns, and the user `operator`; passwords are the environment references $ESPER_NATS_PASS_<USER>. " +
        "For another namespace: esper nats-config --namespace NS > deploy/nats/esper.conf",
    )
    .option("--namespace <ns>", "the subject namespace (default: ESPER_NAMESPACE, else esper)");
  helpFooter(cmd, {
    environment: ["ESPER_NAMESPACE: the default of --namespace"],
    exitCodes: { 0: "printed", 2: "bad arguments" },
  });
}

/** `esper nats-config`: prints the stack's nats-server configuration. */
export async function action(cmd: Command): Promise<number> {
  const { namespace } = cmd.opts<{ namespace?: string }>();
  let ns: string;
  try {
    ns = checkToken("--namespace", namespace ?? process.env.ESPER_NAMESPACE ?? "esper");
  } catch (error) {
    usageError(cmd, errorText(error));
  }
  process.stdout.write(stackServerConfig(ns));
  return 0;
}
