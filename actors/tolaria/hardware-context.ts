import { readFile } from "node:fs/promises";
import { cpus, freemem, hostname, loadavg, totalmem } from "node:os";
import type { HardwareContext } from "../../contracts/messages/state.ts";

/** Where Linux exposes the first thermal zone's temperature (millidegrees Celsius). */
export const THERMAL_ZONE_FILE = "/sys/class/thermal/thermal_zone0/temp";

/** The machine's hardware context and whether its temperature could be read. */
export interface MeasuredHardware {
  readonly context: HardwareContext;
  /** False when the machine exposes no thermal zone: `temperatureCelsius` is 0 then, not a reading. */
  readonly temperatureMeasured: boolean;
}

const GB = 1024 ** 3;

/**
 * Measures the CPU host Tolaria trains on: memory from the OS, utilisation from the 1-minute load
 * average over the core count (capped at 100), temperature from THERMAL_ZONE_FILE when present.
 * `computeCapability` is 0: it is a GPU figure and Tolaria trains on the CPU.
 */
export async function measureHardware(): Promise<MeasuredHardware> {
  const cores = Math.max(1, cpus().length);
  let temperature: number | undefined;
  try {
    const milli = Number((await readFile(THERMAL_ZONE_FILE, "utf8")).trim());
    if (Number.isFinite(milli)) temperature = milli / 1000;
  } catch {
    temperature = undefined;
  }
  return {
    context: {
      deviceType: "cpu",
      deviceId: hostname().replace(/[^A-Za-z0-9_.-]/g, "-") || "cpu",
      totalMemoryGb: totalmem() / GB,
      availableMemoryGb: freemem() / GB,
      temperatureCelsius: temperature ?? 0,
      utilizationPercent: Math.min(100, ((loadavg()[0] ?? 0) / cores) * 100),
      computeCapability: 0,
    },
    temperatureMeasured: temperature !== undefined,
  };
}
