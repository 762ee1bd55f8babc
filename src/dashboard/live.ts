/**
 * The live dashboard of a controller process: it listens to the RolloutHost (HostListener) of
 * its mode, keeps each rollout's recent guard evaluations (GuardRings, bounded), answers the
 * API's questions from the rollouts the process runs now (LiveSource), and feeds the event
 * streams: a `record` event per decision and a `guard` event per guard evaluation as they
 * happen, a `removed` event when a rollout is let go, and a `summary` event per changed
 * rollout, coalesced: at most one per rollout every SUMMARY_DELAY_MS, however many changes.
 */
import type { DecisionRecord, MetricResult } from '../core/record.js';
import { resolveRollout } from '../core/resolve.js';
import type { RolloutState } from '../core/state.js';
import type { GuardResult } from '../engine/decide-guard.js';
import type { HostListener } from '../host/rollout-host.js';
import { isoTime } from '../plan/duration.js';
import type { Plan } from '../plan/schema.js';
import type { Logger } from '../support/log.js';
import { EventStreams, type EventStreamOptions } from './event-stream.js';
import { GuardRings } from './guard-rings.js';
import { rolloutPage, summarize } from './model.js';
import type { RecordsRead } from './records.js';
import type { RolloutPage, RolloutSummary } from './view.js';

/** How long changes of a rollout are gathered into one `summary` event. */
export const SUMMARY_DELAY_MS = 250;
/** Decision records a live rollout page carries at most (the latest; `recordsOmitted` counts the rest). */
export const PAGE_RECORDS = 500;

/** A rollout the process runs now. */
export interface LiveRollout {
  id: string;
  plan: Plan;
  state: RolloutState;
}

/** What the process runs, as the mode knows it. */
export interface LiveSource {
  rollouts(): Iterable<LiveRollout>;
  get(id: string): LiveRollout | undefined;
  /** The latest `limit` decision records of a rollout's journal, oldest first. */
  records(id: string, limit: number): Promise<RecordsRead>;
}

export interface LiveDashboardOptions {
  log: Logger;
  now: () => number;
  streams?: Omit<EventStreamOptions, 'log'>;
  guard?: GuardRings;
}

export class LiveDashboard implements HostListener {
  readonly streams: EventStreams;
  readonly guard: GuardRings;
  private readonly dirty = new Set<string>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly source: LiveSource,
    private readonly opts: LiveDashboardOptions,
  ) {
    this.streams = new EventStreams({ log: opts.log, ...opts.streams });
    this.guard = opts.guard ?? new GuardRings();
  }

  /** The id of a rollout named `namespace/name` or, when unambiguous, `name`. */
  resolve(nameOrId: string): string | null {
    if (this.source.get(nameOrId)) return nameOrId;
    if (nameOrId.includes('/')) return null;
    return resolveRollout(nameOrId, [...this.source.rollouts()].map((r) => r.id));
  }

  /** Every rollout's summary, sorted by id. */
  summaries(): RolloutSummary[] {
    const now = this.opts.now();
    const out: RolloutSummary[] = [];
    for (const r of this.source.rollouts()) out.push(summarize(r.id, r.state, r.plan, now));
    return out.sort((a, b) => (a.rollout < b.rollout ? -1 : a.rollout > b.rollout ? 1 : 0));
  }

  /** The rollout page of `id`, or null when the process does not run it. */
  async page(id: string): Promise<RolloutPage | null> {
    const r = this.source.get(id);
    if (!r) return null;
    const { records, omitted } = await this.source.records(id, PAGE_RECORDS);
    const latest = this.source.get(id) ?? r; // its state may have moved while the journal was read
    return rolloutPage({ id, state: latest.state, plan: latest.plan, records, recordsOmitted: omitted, guard: this.guard.points(id), source: 'live', now: this.opts.now() });
  }

  onManaged(id: string): void {
    this.guard.add(id);
    this.changed(id);
  }

  onUnmanaged(id: string): void {
    this.guard.remove(id);
    this.dirty.delete(id);
    this.streams.send({ event: 'removed', data: { rollout: id } });
  }

  onRecord(id: string, record: DecisionRecord): void {
    this.streams.send({ event: 'record', data: { rollout: id, record } });
    this.changed(id);
  }

  onApplied(id: string): void {
    this.changed(id);
  }

  onGuard(id: string, at: number, result: GuardResult, strikes: number, metrics: readonly MetricResult[]): void {
    const point = { at: isoTime(at), result, strikes, metrics: [...metrics] };
    const before = this.guard.last(id)?.strikes ?? 0;
    this.guard.push(id, point);
    this.streams.send({ event: 'guard', data: { rollout: id, point } });
    if (strikes !== before) this.changed(id);
  }

  /** Ends the event streams and the pending summaries. */
  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.dirty.clear();
    this.streams.close();
  }

  private changed(id: string): void {
    this.dirty.add(id);
    if (this.timer) return;
    this.timer = setTimeout(() => this.flush(), SUMMARY_DELAY_MS);
    this.timer.unref();
  }

  private flush(): void {
    this.timer = null;
    const ids = [...this.dirty];
    this.dirty.clear();
    if (this.streams.size === 0) return;
    const now = this.opts.now();
    for (const id of ids) {
      const r = this.source.get(id);
      if (r) this.streams.send({ event: 'summary', data: summarize(id, r.state, r.plan, now) });
    }
  }
}
