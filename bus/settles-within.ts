/**
 * Whether `p` fulfils within `ms` milliseconds (false on timeout; a rejection within the time propagates).
 * The timer is always cleared, so nothing keeps the process alive afterwards.
 */
export async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((r) => {
    timer = setTimeout(() => r(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true as const), late]);
  } finally {
    clearTimeout(timer);
  }
}
