/** Lets callers wait until something (a worker, a mailbox) has nothing queued or running. */
export class IdleSignal {
  private waiters: (() => void)[] = [];

  constructor(private readonly isIdle: () => boolean) {}

  /** Resolves when idle (at once if idle now). */
  whenIdle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Resolves when idle or after `graceMs`, whichever comes first. */
  within(graceMs: number): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== wake);
        resolve();
      }, graceMs);
      this.waiters.push(wake);
    });
  }

  /** Wakes the waiters if idle now; call after anything that can end work. */
  notify(): void {
    if (!this.isIdle() || this.waiters.length === 0) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
