import { vi } from "vitest";

/** What a command wrote and returned. */
export interface CommandOutput {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** Runs a command's `run(args)` in this process, returning its exit code and what it wrote to stdout and stderr. */
export async function captureCommand(
  run: (args: readonly string[]) => Promise<number>,
  args: readonly string[],
): Promise<CommandOutput> {
  let out = "";
  let err = "";
  vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
    out += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
    err += String(chunk);
    return true;
  });
  try {
    return { code: await run(args), out, err };
  } finally {
    vi.restoreAllMocks();
  }
}
