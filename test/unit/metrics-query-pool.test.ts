/**
 * QueryPool, the one pool of Prometheus queries of a controller process: the cap on requests in
 * flight, turns by rollout, checkpoint queries before guard queries, guard queries given up
 * unsent once their budget passed, and single-flight. Requests are promises the test settles.
 */
import { describe, expect, it } from 'vitest';
import { QueryNotSentError, QueryPool, type PoolRequest } from '../../src/metrics/query-pool.js';
import { ControllerMetrics } from '../../src/observe/metrics.js';

/** A request the test answers by hand; `sent` lists what left the pool, in order. */
class Requests {
  readonly sent: string[] = [];
  private readonly answers = new Map<string, { resolve(v: string): void; reject(e: Error): void }[]>();
  inFlight = 0;
  maxInFlight = 0;

  request(name: string, rollout: string, extra: Partial<PoolRequest<string>> = {}): PoolRequest<string> {
    return {
      rollout,
      priority: 'checkpoint',
      ...extra,
      send: () => {
        this.sent.push(name);
        this.inFlight++;
        this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
        return new Promise<string>((resolve, reject) => {
          const list = this.answers.get(name) ?? [];
          list.push({
            resolve: (v) => {
              this.inFlight--;
              resolve(v);
            },
            reject: (e) => {
              this.inFlight--;
              reject(e);
            },
          });
          this.answers.set(name, list);
        });
      },
    };
  }

  answer(name: string, value = `answer of ${name}`): void {
    const a = this.answers.get(name)?.shift();
    if (!a) throw new Error(`${name} is not in flight`);
    a.resolve(value);
  }

  fail(name: string, err: Error): void {
    this.answers.get(name)!.shift()!.reject(err);
  }
}

/** Lets the pool's promise callbacks run (settling a request frees its slot a few microtasks later). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('QueryPool', () => {
  it('never has more than the cap in flight, and sends everything', async () => {
    const pool = new QueryPool({ maxInFlight: 4 });
    const r = new Requests();
    const done = Array.from({ length: 40 }, (_, i) => pool.run(r.request(`q${i}`, `rollout-${i % 7}`)));
    expect(pool.inFlight).toBe(4);
    expect(pool.queued).toBe(36);
    for (let i = 0; i < 40; i++) {
      r.answer(r.sent[i]!);
      await settle();
      expect(r.inFlight).toBeLessThanOrEqual(4);
    }
    expect(await Promise.all(done)).toHaveLength(40);
    expect(r.sent).toHaveLength(40);
    expect(r.maxInFlight).toBe(4);
    expect(pool.inFlight).toBe(0);
    expect(pool.queued).toBe(0);
  });

  it('takes turns by rollout: one query queued after fifty of another rollout is sent second', async () => {
    const pool = new QueryPool({ maxInFlight: 1 });
    const r = new Requests();
    void pool.run(r.request('blocker', 'c'));
    const many = Array.from({ length: 50 }, (_, i) => pool.run(r.request(`a${i}`, 'a')));
    const one = pool.run(r.request('b0', 'b'));
    r.answer('blocker');
    await settle();
    r.answer('a0');
    await settle();
    expect(r.sent.slice(0, 3)).toEqual(['blocker', 'a0', 'b0']);
    r.answer('b0');
    expect(await one).toBe('answer of b0');
    for (let i = 1; i < 50; i++) {
      await settle();
      r.answer(`a${i}`);
    }
    expect(await Promise.all(many)).toHaveLength(50);
  });

  it('sends a waiting checkpoint query before a guard query that waited longer', async () => {
    const pool = new QueryPool({ maxInFlight: 1 });
    const r = new Requests();
    void pool.run(r.request('blocker', 'x'));
    const guard = pool.run(r.request('guard', 'a', { priority: 'guard', deadline: performance.now() + 60_000 }));
    const checkpoint = pool.run(r.request('checkpoint', 'b'));
    r.answer('blocker');
    await settle();
    expect(r.sent).toEqual(['blocker', 'checkpoint']);
    r.answer('checkpoint');
    await settle();
    r.answer('guard');
    expect(await Promise.all([checkpoint, guard])).toEqual(['answer of checkpoint', 'answer of guard']);
  });

  it('does not send a guard query whose budget passed while it waited: the caller is told at its deadline', async () => {
    const pool = new QueryPool({ maxInFlight: 1 });
    const r = new Requests();
    void pool.run(r.request('blocker', 'x'));
    const guard = pool.run(r.request('guard', 'a', { priority: 'guard', deadline: performance.now() + 20 }));
    const err = await guard.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QueryNotSentError);
    expect(err).toMatchObject({ inFlight: 1, queued: 0 });
    expect((err as QueryNotSentError).waitedMs).toBeGreaterThanOrEqual(19);
    expect(pool.queued).toBe(0);
    r.answer('blocker');
    await settle();
    expect(r.sent).toEqual(['blocker']);
  });

  it('does not send a guard query found past its deadline when its turn comes (a late timer)', async () => {
    let now = 1_000;
    const pool = new QueryPool({ maxInFlight: 1, now: () => now });
    const r = new Requests();
    void pool.run(r.request('blocker', 'x'));
    const guard = pool.run(r.request('guard', 'a', { priority: 'guard', deadline: 1_000 + 3_600_000 }));
    const after = pool.run(r.request('after', 'b', { priority: 'guard', deadline: 1_000 + 7_200_000 }));
    now += 3_600_000;
    r.answer('blocker');
    await expect(guard).rejects.toBeInstanceOf(QueryNotSentError);
    await settle();
    expect(r.sent).toEqual(['blocker', 'after']);
    r.answer('after');
    expect(await after).toBe('answer of after');
  });

  it('single-flight: identical requests waiting or in flight are sent once and every caller gets the answer', async () => {
    const pool = new QueryPool({ maxInFlight: 1 });
    const r = new Requests();
    void pool.run(r.request('blocker', 'x'));
    const waiting = Array.from({ length: 200 }, (_, i) => pool.run(r.request('shared', `rollout-${i}`, { key: 'k' })));
    expect(pool.queued).toBe(1);
    r.answer('blocker');
    await settle();
    const joining = pool.run(r.request('shared', 'late', { key: 'k' }));
    r.answer('shared', 'one answer');
    expect(new Set(await Promise.all([...waiting, joining]))).toEqual(new Set(['one answer']));
    expect(r.sent).toEqual(['blocker', 'shared']);
    // Once answered, the same key is a new request.
    const again = pool.run(r.request('shared', 'again', { key: 'k' }));
    r.answer('shared', 'second answer');
    expect(await again).toBe('second answer');
    expect(r.sent).toEqual(['blocker', 'shared', 'shared']);
  });

  it('single-flight: an error is shared by every caller', async () => {
    const pool = new QueryPool({ maxInFlight: 2 });
    const r = new Requests();
    const callers = Array.from({ length: 5 }, (_, i) => pool.run(r.request('shared', `rollout-${i}`, { key: 'k' })).catch((e: unknown) => e));
    const boom = new Error('connection refused');
    r.fail('shared', boom);
    expect(await Promise.all(callers)).toEqual([boom, boom, boom, boom, boom]);
    expect(r.sent).toEqual(['shared']);
  });

  it('single-flight: a checkpoint caller joining a waiting guard request moves it ahead and keeps it when the guard caller gives up', async () => {
    const pool = new QueryPool({ maxInFlight: 1 });
    const r = new Requests();
    void pool.run(r.request('blocker', 'x'));
    const otherGuard = pool.run(r.request('other-guard', 'b', { priority: 'guard', deadline: performance.now() + 60_000 }));
    const guard = pool.run(r.request('shared', 'a', { key: 'k', priority: 'guard', deadline: performance.now() + 20 }));
    const checkpoint = pool.run(r.request('shared', 'c', { key: 'k' }));
    await expect(guard).rejects.toBeInstanceOf(QueryNotSentError);
    r.answer('blocker');
    await settle();
    expect(r.sent).toEqual(['blocker', 'shared']);
    r.answer('shared');
    expect(await checkpoint).toBe('answer of shared');
    await settle();
    r.answer('other-guard');
    expect(await otherGuard).toBe('answer of other-guard');
    expect(r.sent).toEqual(['blocker', 'shared', 'other-guard']);
  });

  it('a request that throws before answering frees its slot', async () => {
    const pool = new QueryPool({ maxInFlight: 1 });
    const r = new Requests();
    const failing = pool.run({
      rollout: 'a',
      priority: 'checkpoint',
      send: () => {
        throw new Error('cannot build the request');
      },
    });
    await expect(failing).rejects.toThrow('cannot build the request');
    const next = pool.run(r.request('next', 'b'));
    r.answer('next');
    expect(await next).toBe('answer of next');
    expect(pool.inFlight).toBe(0);
  });

  it('refuses a cap below one', () => {
    expect(() => new QueryPool({ maxInFlight: 0 })).toThrow(RangeError);
  });

  it('/metrics shows the queue length and the requests in flight', async () => {
    const pool = new QueryPool({ maxInFlight: 2 });
    const metrics = new ControllerMetrics({ defaultMetrics: false });
    metrics.watchQueryPool(pool);
    const r = new Requests();
    const all = Array.from({ length: 5 }, (_, i) => pool.run(r.request(`q${i}`, 'a')));
    const text = await metrics.metrics();
    expect(text).toContain('rollgate_prometheus_queries_queued 3\n');
    expect(text).toContain('rollgate_prometheus_queries_in_flight 2\n');
    for (let i = 0; i < 5; i++) {
      r.answer(`q${i}`);
      await settle();
    }
    await Promise.all(all);
    const after = await metrics.metrics();
    expect(after).toContain('rollgate_prometheus_queries_queued 0\n');
    expect(after).toContain('rollgate_prometheus_queries_in_flight 0\n');
  });
});
