import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { DrillError } from "./drill-error.ts";

/** One APT source file: its path and text. */
export interface AptSourceFile {
  readonly path: string;
  readonly text: string;
}

/**
 * The Debian mirror serving `suite` in `files`: the first `URIs:` of a deb822 stanza (`*.sources`)
 * whose `Suites:` hold `suite`, or the URL of a one-line `deb URL suite …` entry (`*.list`). Security
 * and other suites do not count. Undefined when none does.
 */
export function debianMirror(files: readonly AptSourceFile[], suite: string): string | undefined {
  for (const file of files) {
    if (file.path.endsWith(".sources")) {
      for (const stanza of file.text.split(/\n\s*\n/)) {
        const field = (name: string): string[] => {
          const m = stanza.match(new RegExp(`^${name}:[ \\t]*(.*)$`, "mi"));
          return m?.[1]?.trim().split(/\s+/) ?? [];
        };
        const types = field("Types");
        const uri = field("URIs")[0];
        if (types.includes("deb") && field("Suites").includes(suite) && uri !== undefined) return uri;
      }
    } else {
      for (const line of file.text.split("\n")) {
        const m = line.match(/^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/);
        if (m?.[2] === suite && m[1] !== undefined) return m[1];
      }
    }
  }
  return undefined;
}

/** The APT source files of this machine: /etc/apt/sources.list and /etc/apt/sources.list.d/*.{list,sources}. */
export function machineAptSources(): AptSourceFile[] {
  const paths: string[] = [];
  if (existsSync("/etc/apt/sources.list")) paths.push("/etc/apt/sources.list");
  const dir = "/etc/apt/sources.list.d";
  if (existsSync(dir)) {
    for (const name of readdirSync(dir).sort()) {
      if (name.endsWith(".list") || name.endsWith(".sources")) paths.push(join(dir, name));
    }
  }
  return paths.map((path) => ({ path, text: readFileSync(path, "utf8") }));
}

/** This machine's Debian mirror for `suite`; a DrillError naming the files read when there is none. */
export function machineDebianMirror(suite: string): string {
  const files = machineAptSources();
  const mirror = debianMirror(files, suite);
  if (mirror === undefined) {
    throw new DrillError(
      `no Debian mirror for '${suite}' in ${files.map((f) => f.path).join(", ") || "/etc/apt (no source files)"}`,
    );
  }
  return mirror;
}
