import { readFileSync } from "node:fs";
import { availableParallelism, freemem, hostname, loadavg, totalmem } from "node:os";
import type { HardwareContext } from "../../contracts/messages/state.ts";

/** Where Linux exposes the first thermal zone's temperature (millidegrees Celsius). */
export const THERMAL_ZONE_FILE = "/sys/class/thermal/thermal_zone0/temp";

const GB = 1024 ** 3;

/**
 * Measures the CPU host Tolaria trains on: memory from the OS, utilisation from the 1-minute load
 * average over the core count (capped at 100), and the temperature from THERMAL_ZONE_FILE when the
 * machine has one (left out otherwise). `computeCapability` is left out: it is a GPU figure. Synchronous:
 * a read of a few bytes from sysfs costs less than the thread-pool round trips of an asynchronous one.
 */
export function measureHardware(): HardwareContext {
  const cores = availableParallelism();
  const temperature = readTemperature();
  return {
    deviceType: "cpu",
    deviceId: hostname().replace(/[^A-Za-z0-9_.-]/g, "-"),
    totalMemoryGb: totalmem() / GB,
    availableMemoryGb: freemem() / GB,
    ...(temperature !== undefined ? { temperatureCelsius: temperature } : {}),
    utilizationPercent: Math.min(100, ((loadavg()[0] ?? 0) / cores) * 100),
  };
}

/** The thermal zone's reading in °C, or undefined when the machine exposes none. */
function readTemperature(): number | undefined {
  let text: string;
  try {
    text = readFileSync(THERMAL_ZONE_FILE, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  const milli = Number(text.trim());
  if (!Number.isFinite(milli)) throw new Error(`${THERMAL_ZONE_FILE} holds '${text.trim()}', not a number`);
  return milli / 1000;
}
