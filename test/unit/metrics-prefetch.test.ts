/**
 * RangePrefetchProvider with a fake inner provider: how many requests guard ticks cost, what
 * falls through to instant queries, how failures become nodata, and that memory stays bounded.
 */
import { describe, expect, it } from 'vitest';
import { RangePrefetchProvider } from '../../src/metrics/prefetch.js';
import { PrometheusError } from '../../src/metrics/errors.js';
import type { MetricsProvider, Sample } from '../../src/core/metrics-provider.js';

const STEP = 30_000;
const T0 = 1_700_000_000_000;
const NOW = T0 + 30 * 86_400_000;

/** value(t) = t / 1000 for every query; counts calls. */
class FakeProvider implements MetricsProvider {
  instants = 0;
  ranges: Array<[number, number]> = [];
  failRange: Error | undefined;
  async instant(_q: string, at: number): Promise<Sample> {
    this.instants++;
    return { value: at / 1000 };
  }
  async range(_q: string, start: number, end: number, step: number): Promise<Map<number, Sample>> {
    this.ranges.push([start, end]);
    if (this.failRange) throw this.failRange;
    const out = new Map<number, Sample>();
    for (let t = start; t <= end; t += step) out.set(t, { value: t / 1000 });
    return out;
  }
}

function setup(opts: { now?: number } = {}) {
  const inner = new FakeProvider();
  const p = new RangePrefetchProvider(inner, { stepMs: STEP, now: () => opts.now ?? NOW });
  return { inner, p };
}

describe('RangePrefetchProvider', () => {
  it('25,000 guard ticks cost one instant and three range requests, with the right values', async () => {
    const { inner, p } = setup();
    for (let i = 0; i < 25_000; i++) {
      const at = T0 + i * STEP;
      expect(await p.instant('q', at)).toEqual({ value: at / 1000 });
    }
    expect(inner.instants).toBe(1);
    expect(inner.ranges).toHaveLength(3);
    expect(inner.ranges[0]).toEqual([T0 + STEP, T0 + STEP + 9_999 * STEP]);
  });

  it('keeps a cache per query', async () => {
    const { inner, p } = setup();
    for (let i = 0; i < 10; i++) {
      await p.instant('a', T0 + i * STEP);
      await p.instant('b', T0 + i * STEP);
    }
    expect(inner.instants).toBe(2);
    expect(inner.ranges).toHaveLength(2);
  });

  it('an instant off the grid falls through to an instant query', async () => {
    const { inner, p } = setup();
    await p.instant('q', T0);
    await p.instant('q', T0 + STEP);
    expect(await p.instant('q', T0 + STEP + 1_000)).toEqual({ value: (T0 + STEP + 1_000) / 1000 });
    expect(inner.instants).toBe(2);
    expect(p.stats).toMatchObject({ instantFallbacks: 2, rangeRequests: 1, cachedAnswers: 1 });
  });

  it('never prefetches points newer than now - settle; those are instant queries', async () => {
    const now = T0 + 10 * STEP;
    const { inner, p } = setup({ now });
    for (let i = 0; i <= 10; i++) await p.instant('q', T0 + i * STEP);
    // cacheable up to now - 60s = T0 + 8 steps; chunk [T0+1 step, T0+8 steps]; steps 9 and 10 fall through
    expect(inner.ranges).toEqual([[T0 + STEP, T0 + 8 * STEP]]);
    expect(inner.instants).toBe(3);
  });

  it('going back in time fetches a new chunk there', async () => {
    const { inner, p } = setup();
    for (let i = 0; i < 5; i++) await p.instant('q', T0 + 100 * STEP + i * STEP);
    expect(await p.instant('q', T0 + 50 * STEP)).toEqual({ value: (T0 + 50 * STEP) / 1000 });
    expect(inner.ranges).toHaveLength(2);
  });

  it('a bad query is nodata with the reason and the bad-query problem, and is not asked again for the chunk', async () => {
    const { inner, p } = setup();
    inner.failRange = new PrometheusError('bad query (a plan problem, not retried): parse error; query: q', { kind: 'bad-query', status: 400 });
    await p.instant('q', T0);
    for (let i = 1; i <= 5; i++) {
      const s = await p.instant('q', T0 + i * STEP);
      expect(s).toEqual({ value: null, reason: 'bad query (a plan problem, not retried): parse error; query: q', problem: 'bad-query' });
    }
    expect(inner.ranges).toHaveLength(1);
  });

  it('a transient range failure is nodata and is tried again at the next tick', async () => {
    const { inner, p } = setup();
    inner.failRange = new PrometheusError('cannot reach Prometheus (ECONNREFUSED)', { kind: 'network' });
    await p.instant('q', T0);
    expect(await p.instant('q', T0 + STEP)).toEqual({ value: null, reason: 'cannot reach Prometheus (ECONNREFUSED)' });
    inner.failRange = undefined;
    expect(await p.instant('q', T0 + 2 * STEP)).toEqual({ value: (T0 + 2 * STEP) / 1000 });
    expect(inner.ranges).toHaveLength(2);
  });

  it('concurrent ticks share one range request', async () => {
    const { inner, p } = setup();
    await p.instant('q', T0);
    await Promise.all([1, 2, 3].map((i) => p.instant('q', T0 + i * STEP)));
    expect(inner.ranges).toHaveLength(1);
  });

  it("a sequential test's counts (a new window at every tick) go straight to instant queries and never evict the guard's queries", async () => {
    const { inner, p } = setup();
    const ticks = 2_000;
    for (let i = 0; i < ticks; i++) {
      const at = T0 + i * STEP;
      expect(await p.instant('guard', at)).toEqual({ value: at / 1000 });
      // Four counts over the phase so far: each query string is asked once.
      for (const track of ['canary_bad', 'canary_total', 'stable_bad', 'stable_total']) await p.instant(`${track}[${(i + 1) * 30}s]`, at);
    }
    expect(inner.ranges).toHaveLength(1); // the guard query: one chunk of 10,000 steps covers every tick
    expect(inner.instants).toBe(1 + 4 * ticks);
    expect(p.stats).toMatchObject({ rangeRequests: 1, cachedAnswers: ticks - 1, instantFallbacks: 1 + 4 * ticks });
    const states = (p as unknown as { states: Map<string, unknown> }).states;
    expect(states.size).toBeLessThanOrEqual(500);
    expect(states.has('guard')).toBe(true);
  });

  it('bounds memory: old chunks and least recently used queries are dropped', async () => {
    const inner = new FakeProvider();
    const p = new RangePrefetchProvider(inner, { stepMs: STEP, now: () => NOW, chunkPoints: 10, maxQueries: 2 });
    for (let i = 0; i < 100; i++) await p.instant('q', T0 + i * STEP);
    const states = (p as unknown as { states: Map<string, { chunks: unknown[] }> }).states;
    expect(states.get('q')!.chunks).toHaveLength(1);
    await p.instant('a', T0);
    await p.instant('b', T0);
    expect([...states.keys()]).toEqual(['a', 'b']);
  });
});
