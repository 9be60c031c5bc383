import { parseArgs } from "node:util";
import { stackServerConfig } from "../../bus/server/stack-server-config.ts";
import { checkToken } from "../../contracts/subjects.ts";
import { errorText } from "../errors.ts";

const HELP = `usage: esper nats-config [--namespace NS]

Prints the nats-server configuration of a deployed stack (deploy/nats/esper.conf is this output for
namespace esper): one user per actor, allowed to publish only the subjects the subject registry says
it owns, and the user \`operator\`; passwords are the environment references $ESPER_NATS_PASS_<USER>.
For another namespace: esper nats-config --namespace NS > deploy/nats/esper.conf

  --namespace NS  the subject namespace (default: ESPER_NAMESPACE, else esper)

Exit codes: 0 printed; 2 bad arguments.`;

/** `esper nats-config`: prints the stack's nats-server configuration; see HELP. */
export async function run(args: readonly string[]): Promise<number> {
  try {
    const { values } = parseArgs({
      args: [...args],
      options: { namespace: { type: "string" }, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: false,
    });
    if (values.help) {
      process.stdout.write(`${HELP}\n`);
      return 0;
    }
    const ns = checkToken("--namespace", values.namespace ?? process.env.ESPER_NAMESPACE ?? "esper");
    process.stdout.write(stackServerConfig(ns));
    return 0;
  } catch (error) {
    process.stderr.write(`esper nats-config: ${errorText(error)}\n${HELP}\n`);
    return 2;
  }
}
