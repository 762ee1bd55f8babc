/**
 * The live dashboard of a controller process: it listens to the RolloutHost (HostListener) of
 * its mode, keeps each rollout's recent guard evaluations (GuardRings, bounded), answers the
 * API's questions from the rollouts the process runs now (LiveSource), and feeds the event
 * streams: a `record` event per decision and a `guard` event per guard evaluation as they
 * happen, a `removed` event when a rollout is let go, and a `summary` event per changed
 * rollout, coalesced: at most one per rollout every SUMMARY_DELAY_MS, however many changes.
 *
 * The list of `/api/rollouts` is served a page at a time (rollout-list.ts) from what this
 * keeps between requests: the rollout ids sorted (sorted again only after a rollout is taken
 * on or let go) and each rollout's summary, made again only when its state or plan is another
 * object than the one it was made from (the engine replaces a rollout's state at every
 * journalled entry, the host its plan at a plan update). Health depends on the time (an
 * overdue action turns it to `warning`): it is worked out again for each summary served.
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
import { health, rolloutPage, summarize } from './model.js';
import type { RecordsRead } from './records.js';
import { listPage, summaryText, type ListQuery } from './rollout-list.js';
import type { RolloutList, RolloutPage, RolloutSummary } from './view.js';

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

/** A rollout's summary as made from `state` and `plan` (health as of then), and the filter's text without the health. */
interface CachedSummary {
  state: RolloutState;
  plan: Plan;
  summary: RolloutSummary;
  text: string;
}

export class LiveDashboard implements HostListener {
  readonly streams: EventStreams;
  readonly guard: GuardRings;
  private readonly dirty = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private readonly cache = new Map<string, CachedSummary>();
  /** Every rollout id, sorted; null: to be sorted again (a rollout taken on or let go). */
  private order: string[] | null = null;

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

  /** A page of the rollouts' summaries, sorted by id or by health (rollout-list.ts). */
  list(query: ListQuery): RolloutList {
    const now = this.opts.now();
    return listPage(
      {
        ids: this.ids(),
        summary: (id) => this.summary(id, now),
        text: (id) => {
          const c = this.cached(id);
          return c ? `${c.text} ${health(c.state, now)}` : null; // the words match in any order
        },
        health: (id) => {
          const c = this.cached(id);
          return c ? health(c.state, now) : null;
        },
      },
      query,
    );
  }

  /** The summary of `id` as of `now`, or null when the process does not run it. */
  summary(id: string, now = this.opts.now()): RolloutSummary | null {
    const c = this.cached(id);
    if (!c) return null;
    const h = health(c.state, now);
    return h === c.summary.health ? c.summary : { ...c.summary, health: h };
  }

  private cached(id: string): CachedSummary | null {
    const r = this.source.get(id);
    if (!r) {
      this.cache.delete(id);
      return null;
    }
    let c = this.cache.get(id);
    if (!c || c.state !== r.state || c.plan !== r.plan) {
      const summary = summarize(id, r.state, r.plan, this.opts.now());
      c = { state: r.state, plan: r.plan, summary, text: summaryText(summary, '') };
      this.cache.set(id, c);
    }
    return c;
  }

  private ids(): string[] {
    if (!this.order) {
      const ids: string[] = [];
      for (const r of this.source.rollouts()) ids.push(r.id);
      this.order = ids.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    }
    return this.order;
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
    this.order = null;
    this.cache.delete(id);
    this.guard.add(id);
    this.changed(id);
  }

  onUnmanaged(id: string): void {
    this.order = null;
    this.cache.delete(id);
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
    this.cache.clear();
    this.order = null;
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
      const s = this.summary(id, now);
      if (s) this.streams.send({ event: 'summary', data: s });
    }
  }
}
