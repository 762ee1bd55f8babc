/**
 * Time is injected: every wait in the engine goes through a Clock, so the same engine runs in
 * real time (`run`, `controller`) and in virtual time (`simulate`, tests).
 */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Resolves at `at` (epoch ms) or when `signal` aborts, whichever comes first. */
  sleepUntil(at: number, signal?: AbortSignal): Promise<void>;
  readonly virtual: boolean;
}

export class RealClock implements Clock {
  readonly virtual = false;
  now(): number {
    return Date.now();
  }
  sleepUntil(at: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      // setTimeout's limit is about 24.8 days; longer sleeps wake up and sleep again.
      const delay = Math.min(Math.max(0, at - Date.now()), 2 ** 31 - 1);
      const timer = setTimeout(done, delay);
      function done() {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}

/**
 * Virtual time: sleeping jumps the clock forward at once. The controller's scheduler is the
 * only sleeper, so jumping is safe and a 40-hour plan runs in milliseconds.
 */
export class VirtualClock implements Clock {
  readonly virtual = true;
  constructor(private current: number) {}
  now(): number {
    return this.current;
  }
  async sleepUntil(at: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return;
    if (at > this.current) this.current = at;
  }
  /** Moves time forward (tests). */
  advanceTo(at: number): void {
    if (at > this.current) this.current = at;
  }
}
