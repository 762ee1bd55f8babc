/**
 * RangePrefetchProvider: answers instant queries from range queries, for simulation and
 * backtests where the guard asks the same query every `interval` over a long history.
 *
 * How an `instant(query, at)` is answered:
 * 1. The first request of a query is sent as a real instant query; its instant becomes the
 *    query's grid anchor. (Checkpoint queries differ in `{{window}}` and are mostly asked once,
 *    so they never pay for a range query they do not use.)
 * 2. A later instant on the grid (`anchor + k * stepMs`) is looked up in the cached chunks of
 *    that query. When no chunk covers it, a new chunk is fetched *starting at that instant*:
 *    one range query of at most `chunkPoints` (10,000) steps, clipped to `now() - settleMs`
 *    so that points whose data may still be arriving are never cached. N guard ticks thus cost
 *    about N / 10,000 range requests.
 * 3. An instant off the grid, or later than `now() - settleMs`, falls through to a real instant
 *    query; so does one of a query never yet asked at two instants one step apart. That is
 *    what a guard's query is (asked every interval) and what a sequential test's counts are
 *    not: their `{{window}}` is the phase so far, a new query at every tick, whose text only
 *    comes back in a later phase, never at the next step, so it is never worth a range query.
 * 4. A range failure (a PrometheusError) gives `nodata` with the failure's reason. A
 *    non-retryable failure (a bad query) is cached for the chunk's span, since asking again
 *    cannot help; a transient one is not cached, so the next tick tries again. Any other error
 *    (HistoryUnavailableError from history.ts: the simulation stops) is passed on.
 *
 * Memory is bounded: chunks that end before the latest instant asked of their query are
 * dropped (simulated time moves forward), and at most `maxQueries` queries are remembered
 * (least recently used dropped first).
 */
import type { MetricsProvider, Sample } from '../core/metrics-provider.js';
import { PrometheusError } from './errors.js';
import { MAX_RANGE_POINTS } from './prometheus.js';

export interface RangePrefetchOptions {
  /** Grid step: the guard interval. */
  stepMs: number;
  /** Steps per range request; at most 10,000 (Prometheus refuses more than 11,000). */
  chunkPoints?: number;
  /** Points newer than `now() - settleMs` are never prefetched. Default 60 s. */
  settleMs?: number;
  /** Wall clock of the Prometheus data (not the simulated clock). Default Date.now. */
  now?: () => number;
  /** Queries remembered at once. Default 500. */
  maxQueries?: number;
}

interface Chunk {
  start: number;
  end: number;
  samples: Promise<Map<number, Sample> | { failed: string; transient: boolean; badQuery: boolean }>;
}

interface QueryState {
  anchor: number;
  chunks: Chunk[];
  /** The latest instant asked. */
  last: number;
  /** Asked at two instants one step apart: a query of every tick, worth prefetching. */
  everyStep: boolean;
}

/** Counters for tests and the simulator's summary. */
export interface PrefetchStats {
  rangeRequests: number;
  instantFallbacks: number;
  cachedAnswers: number;
}

export class RangePrefetchProvider implements MetricsProvider {
  private readonly states = new Map<string, QueryState>();
  private readonly stepMs: number;
  private readonly chunkPoints: number;
  private readonly settleMs: number;
  private readonly now: () => number;
  private readonly maxQueries: number;
  readonly stats: PrefetchStats = { rangeRequests: 0, instantFallbacks: 0, cachedAnswers: 0 };

  constructor(
    private readonly inner: MetricsProvider,
    opts: RangePrefetchOptions,
  ) {
    if (!(opts.stepMs > 0)) throw new RangeError(`stepMs must be positive, got ${opts.stepMs}`);
    this.stepMs = opts.stepMs;
    this.chunkPoints = Math.max(1, Math.min(opts.chunkPoints ?? MAX_RANGE_POINTS, MAX_RANGE_POINTS));
    this.settleMs = opts.settleMs ?? 60_000;
    this.now = opts.now ?? Date.now;
    this.maxQueries = opts.maxQueries ?? 500;
  }

  async instant(query: string, at: number): Promise<Sample> {
    const state = this.states.get(query);
    if (!state) {
      this.remember(query, { anchor: at, chunks: [], last: at, everyStep: false });
      return this.fallThrough(query, at);
    }
    this.remember(query, state);
    if (at - state.last === this.stepMs) state.everyStep = true;
    state.last = at;
    if ((at - state.anchor) % this.stepMs !== 0) return this.fallThrough(query, at);

    state.chunks = state.chunks.filter((c) => c.end >= at);
    let chunk = state.chunks.find((c) => c.start <= at && at <= c.end);
    if (!chunk) {
      const cap = this.latestCacheable(state.anchor);
      if (at > cap || !state.everyStep) return this.fallThrough(query, at);
      chunk = this.fetch(query, at, Math.min(at + (this.chunkPoints - 1) * this.stepMs, cap));
      state.chunks.push(chunk);
    }
    const samples = await chunk.samples;
    if ('failed' in samples) {
      // Transient failures are forgotten so that the next tick asks again.
      if (samples.transient) state.chunks = state.chunks.filter((c) => c !== chunk);
      return { value: null, reason: samples.failed, ...(samples.badQuery ? { problem: 'bad-query' as const } : {}) };
    }
    this.stats.cachedAnswers++;
    return samples.get(at) ?? { value: null, reason: 'empty result' };
  }

  range(query: string, start: number, end: number, stepMs: number): Promise<Map<number, Sample>> {
    return this.inner.range(query, start, end, stepMs);
  }

  private fetch(query: string, start: number, end: number): Chunk {
    this.stats.rangeRequests++;
    // A PrometheusError is a failed answer (nodata); anything else (the history being
    // unavailable, a bug) is not data-shaped and propagates to the caller.
    const samples = this.inner.range(query, start, end, this.stepMs).catch((err: unknown) => {
      if (!(err instanceof PrometheusError)) throw err;
      return { failed: err.message, transient: err.retryable, badQuery: err.kind === 'bad-query' };
    });
    return { start, end, samples };
  }

  private fallThrough(query: string, at: number): Promise<Sample> {
    this.stats.instantFallbacks++;
    return this.inner.instant(query, at);
  }

  /** The latest grid instant whose data is settled. */
  private latestCacheable(anchor: number): number {
    const limit = this.now() - this.settleMs;
    return anchor + Math.floor((limit - anchor) / this.stepMs) * this.stepMs;
  }

  private remember(query: string, state: QueryState): void {
    this.states.delete(query);
    this.states.set(query, state);
    while (this.states.size > this.maxQueries) {
      const oldest = this.states.keys().next().value as string;
      this.states.delete(oldest);
    }
  }
}
