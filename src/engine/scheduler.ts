/**
 * One loop drives every rollout. Each rollout's next due instant sits in an indexed min-heap
 * (due-heap.ts), asked of the rollout only when something about it changed: after its own
 * step, a manual action or a plan update (the runner tells), when it is added. The loop sleeps
 * (on the injected clock) until the heap's minimum, takes every rollout due and steps it:
 * O(log N) per event, whatever the number of rollouts. In real time each due rollout steps on
 * its own (a slow Prometheus for one never delays another), at most `maxSteps` at once, and is
 * out of the heap until its step ends; in virtual time they step one after the other in time order, ties in the order
 * the rollouts were added, so simulations are deterministic.
 */
import type { Clock } from '../core/clock.js';
import type { Logger } from '../support/log.js';
import { DueHeap, type DueNode } from './due-heap.js';
import type { RolloutRunner } from './rollout.js';

/** How long a real-time loop sleeps at most when nothing is due. */
const IDLE_WAKE_MS = 60_000;

/**
 * Steps under way at once (real time) when not configured. Enough to keep the query pool busy;
 * beyond it the rollouts due wait in the heap, earliest first, and a stop has only these to
 * drain (a step not begun is never begun after stop()).
 */
export const DEFAULT_MAX_STEPS = 256;

export interface SchedulerOptions {
  /** Steps under way at once in real time; default DEFAULT_MAX_STEPS. */
  maxSteps?: number;
}

/** A rollout in the scheduler: its place in the heap, and its step while one is under way. */
interface Slot extends DueNode {
  readonly runner: RolloutRunner;
  step: Promise<void> | null;
}

export class Scheduler {
  private readonly slots = new Map<string, Slot>();
  private readonly due = new DueHeap<Slot>();
  /** The slots whose step is under way (real time). */
  private readonly inFlight = new Set<Slot>();
  private added = 0;
  private readonly maxSteps: number;
  private wake = new AbortController();
  private sleeping = false;
  /** A rescheduled rollout due before this wakes the sleeping loop (-Infinity: none does). */
  private sleepingUntil = -Infinity;
  /** The loop sleeps until a step ends: maxSteps are under way. */
  private waitingForRoom = false;
  private stopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly log: Logger,
    opts: SchedulerOptions = {},
  ) {
    this.maxSteps = opts.maxSteps ?? DEFAULT_MAX_STEPS;
  }

  /** Schedules a rollout (one of the same id is replaced). */
  add(runner: RolloutRunner): void {
    this.remove(runner.id);
    const slot: Slot = { runner, rank: this.added++, at: 0, index: -1, step: null };
    this.slots.set(runner.id, slot);
    runner.onDueChange(() => this.reschedule(slot));
    this.reschedule(slot);
  }

  /** Takes a rollout out; a step under way finishes, and nothing more is scheduled for it. */
  remove(id: string): void {
    const slot = this.slots.get(id);
    if (!slot) return;
    this.slots.delete(id);
    this.due.delete(slot);
    slot.runner.onDueChange(null);
  }

  get(id: string): RolloutRunner | undefined {
    return this.slots.get(id)?.runner;
  }

  /** Wakes the loop to look at the heap again (cheap: no rollout is asked anything). */
  poke(): void {
    if (this.sleeping) this.wake.abort();
  }

  /** No step starts any more; steps under way end after what they are doing (see drain). */
  stop(): void {
    this.stopped = true;
    for (const slot of this.inFlight) slot.runner.stop();
    this.poke();
  }

  /** Waits for the steps under way, only those: no step starts after stop(). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.inFlight].map((s) => s.step));
  }

  /**
   * Asks the rollout for its next due instant and moves it in the heap (out of it when nothing
   * is due); wakes the loop when that is earlier than it sleeps. A rollout whose step is under
   * way is asked when the step ends.
   */
  private reschedule(slot: Slot): void {
    if (slot.step !== null || this.slots.get(slot.runner.id) !== slot) return;
    const at = slot.runner.nextDueAt();
    if (at === null) {
      this.due.delete(slot);
      return;
    }
    this.due.set(slot, at);
    if (at < this.sleepingUntil) this.poke();
  }

  /** A real-time step: errors are logged (the runner retries after a pause), then rescheduled. */
  private async stepOnItsOwn(slot: Slot): Promise<void> {
    try {
      await slot.runner.step();
    } catch (err) {
      this.log.error({ rollout: slot.runner.id, err: (err as Error).message, stack: (err as Error).stack }, 'rollout step failed; it is retried');
    } finally {
      this.inFlight.delete(slot);
      slot.step = null;
      if (this.waitingForRoom) this.poke();
      if (!this.stopped) this.reschedule(slot);
    }
  }

  /**
   * Runs until stop(), or (virtual time) until nothing is due at or before `until` or
   * `done()` says so.
   */
  async run(opts: { until?: number; done?: () => boolean } = {}): Promise<void> {
    const virtual = this.clock.virtual;
    while (!this.stopped) {
      if (opts.done?.()) return;
      const now = this.clock.now();
      for (let slot = this.due.peek(); slot !== undefined && slot.at <= now && (virtual || this.inFlight.size < this.maxSteps); slot = this.due.peek()) {
        this.due.pop();
        if (virtual) {
          try {
            await slot.runner.step();
          } finally {
            this.reschedule(slot);
          }
          if (this.stopped || opts.done?.()) return;
        } else {
          this.inFlight.add(slot);
          slot.step = this.stepOnItsOwn(slot);
        }
      }
      const next = this.due.peek()?.at ?? null;
      if (virtual) {
        if (next === null || (opts.until !== undefined && next > opts.until)) {
          if (opts.until !== undefined) await this.clock.sleepUntil(opts.until);
          return;
        }
        await this.clock.sleepUntil(next);
        continue;
      }
      if (opts.until !== undefined && now >= opts.until) return;
      if (this.wake.signal.aborted) this.wake = new AbortController();
      // With maxSteps under way, only the end of one (or stop) wakes the loop.
      this.waitingForRoom = this.inFlight.size >= this.maxSteps;
      const until = Math.min(next ?? Infinity, now + IDLE_WAKE_MS, opts.until ?? Infinity);
      this.sleepingUntil = this.waitingForRoom ? -Infinity : until;
      this.sleeping = true;
      await this.clock.sleepUntil(this.waitingForRoom ? now + IDLE_WAKE_MS : until, this.wake.signal);
      this.sleeping = false;
      this.waitingForRoom = false;
      this.sleepingUntil = -Infinity;
    }
  }
}
