/**
 * One loop drives every rollout: it sleeps (on the injected clock) until the earliest due
 * instant, then steps the rollouts that are due. In real time each due rollout steps on its
 * own (a slow Prometheus for one never delays another); in virtual time they step one after
 * the other in time order, so simulations are deterministic.
 */
import type { Clock } from '../core/clock.js';
import type { Logger } from '../support/log.js';
import type { RolloutRunner } from './rollout.js';

/** How long a real-time loop sleeps at most when nothing is due. */
const IDLE_WAKE_MS = 60_000;

export class Scheduler {
  private readonly runners = new Map<string, RolloutRunner>();
  private readonly inFlight = new Map<string, Promise<void>>();
  private wake = new AbortController();
  private stopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  add(runner: RolloutRunner): void {
    this.runners.set(runner.id, runner);
    this.poke();
  }

  remove(id: string): void {
    this.runners.delete(id);
    this.poke();
  }

  get(id: string): RolloutRunner | undefined {
    return this.runners.get(id);
  }

  all(): RolloutRunner[] {
    return [...this.runners.values()];
  }

  /** Wakes the loop (a manual action or plan change may have made something due). */
  poke(): void {
    this.wake.abort();
    this.wake = new AbortController();
  }

  stop(): void {
    this.stopped = true;
    this.poke();
  }

  /** Waits for the steps under way. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.inFlight.values()]);
  }

  private earliest(): number | null {
    let min: number | null = null;
    for (const r of this.runners.values()) {
      if (this.inFlight.has(r.id)) continue;
      const t = r.nextDueAt();
      if (t !== null && (min === null || t < min)) min = t;
    }
    return min;
  }

  /**
   * Runs until stop(), or (virtual time) until nothing is due at or before `until` or
   * `done()` says so.
   */
  async run(opts: { until?: number; done?: () => boolean } = {}): Promise<void> {
    while (!this.stopped) {
      if (opts.done?.()) return;
      const now = this.clock.now();
      let stepped = false;
      for (const r of [...this.runners.values()]) {
        if (this.inFlight.has(r.id)) continue;
        const due = r.nextDueAt();
        if (due === null || due > now) continue;
        stepped = true;
        if (this.clock.virtual) {
          await r.step();
          if (this.stopped || opts.done?.()) return;
        } else {
          const p = r
            .step()
            .catch((err: unknown) => this.log.error({ rollout: r.id, err: (err as Error).message, stack: (err as Error).stack }, 'rollout step failed; it is retried'))
            .finally(() => {
              this.inFlight.delete(r.id);
              this.poke();
            });
          this.inFlight.set(r.id, p);
        }
      }
      if (stepped && this.clock.virtual) continue;
      const next = this.earliest();
      if (this.clock.virtual) {
        if (next === null || (opts.until !== undefined && next > opts.until)) {
          if (opts.until !== undefined) await this.clock.sleepUntil(opts.until);
          return;
        }
        await this.clock.sleepUntil(next);
        continue;
      }
      const target = Math.min(next ?? Infinity, now + IDLE_WAKE_MS, opts.until ?? Infinity);
      if (opts.until !== undefined && now >= opts.until) return;
      await this.clock.sleepUntil(target, this.wake.signal);
    }
  }
}
