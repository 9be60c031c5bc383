import { loadProcessSettings } from "../actors/runtime/process-settings.ts";
import { type BusConnection, connectBus } from "../bus/connection.ts";

/**
 * Connects the CLI to NATS: `--nats` (comma-separated) or the ESPER_NATS_URL process setting, as
 * ESPER_NATS_USER with ESPER_NATS_PASS when set (the `operator` user of a stack with permissions).
 */
export async function connectFromFlags(url: string | undefined, name: string): Promise<BusConnection> {
  const settings = loadProcessSettings();
  const servers = url !== undefined ? url.split(",").map((s) => s.trim()) : settings.natsServers;
  return connectBus({
    servers,
    name,
    namespace: settings.namespace,
    connectWindowMs: settings.connectTimeoutMs,
    ...(settings.natsCredentials ?? {}),
  });
}
