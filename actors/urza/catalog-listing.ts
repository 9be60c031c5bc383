import type { BusConnection } from "../../bus/connection.ts";
import { openBucket } from "../../bus/kv.ts";
import { BlueprintTier } from "../../contracts/enums.ts";
import type { BlueprintDescriptor } from "../../contracts/messages/kernel.ts";

/** Every descriptor in the `catalog` bucket, by blueprint id. A stored value that fails validation throws ContractError. */
export async function listCatalog(bus: BusConnection): Promise<BlueprintDescriptor[]> {
  const bucket = await openBucket(bus, "catalog");
  const keys = (await bucket.keys()).sort();
  const out: BlueprintDescriptor[] = [];
  for (const key of keys) {
    const entry = await bucket.get(key);
    if (entry !== undefined) out.push(entry.value);
  }
  return out;
}

const tierNames = new Map<number, string>(Object.entries(BlueprintTier).map(([name, code]) => [code, name]));

/** The catalog as an aligned text table: id, tier, risk, approval, widths, parameters, artifact digest (short). */
export function catalogTable(descriptors: readonly BlueprintDescriptor[]): string {
  const header = ["blueprint", "tier", "risk", "approval", "in→out", "params", "sha256"];
  const rows = descriptors.map((d) => [
    d.blueprintId,
    tierNames.get(d.tier) ?? String(d.tier),
    d.risk.toFixed(2),
    d.approvalRequired ? "required" : "-",
    `${d.inputWidth}→${d.outputWidth}`,
    String(d.parameterCount),
    d.artifactSha256.slice(0, 12),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}
