/**
 * PrometheusProvider through a shared QueryPool, against a loopback server whose answers and
 * speed the test sets: single-flight across rollouts, the cap in requests and in sockets,
 * timeouts that start when a request leaves the pool, retries that queue again, and guard
 * queries given up unsent. Counted in requests and connections the server saw.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PrometheusProvider, type PrometheusProviderOptions, type QueryInfo } from '../../src/metrics/prometheus.js';
import { QueryPool } from '../../src/metrics/query-pool.js';
import { silentLogger } from '../../src/support/log.js';
import { startAnsweringServer, success, type Answer, type AnsweringServer } from '../helpers/answering-server.js';

const T = 1_700_000_000_000;
const vector = (v: string) => success({ resultType: 'vector', result: [{ metric: {}, value: [T / 1000, v] }] });

let server: AnsweringServer;
beforeEach(async () => {
  server = await startAnsweringServer(() => vector('1'));
});
afterEach(() => server.close());

function provider(pool: QueryPool, rollout: string, extra: Partial<PrometheusProviderOptions> = {}): PrometheusProvider {
  return new PrometheusProvider({ address: server.url, log: silentLogger(), pool, rollout, retries: 0, ...extra });
}

/** A gate the server's answers wait on until the test opens it. */
function gate(): { wait: () => Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { wait: () => opened, open };
}

/** Resolves once `cond` holds (polled on every turn of the event loop). */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise<void>((resolve) => setImmediate(resolve));
}

describe('PrometheusProvider with a shared QueryPool', () => {
  it('200 rollouts asking one query at one instant send one request; each gets a Sample of its own', async () => {
    const pool = new QueryPool();
    const infos: QueryInfo[] = [];
    const providers = Array.from({ length: 200 }, (_, i) => provider(pool, `shop/r${i}`, { onQuery: (q) => infos.push(q) }));
    const samples = await Promise.all(providers.map((p) => p.instant('sum(rate(errors[5m]))', T)));
    expect(server.asked).toHaveLength(1);
    expect(infos).toHaveLength(1);
    expect(samples.every((s) => s.value === 1)).toBe(true);
    expect(new Set(samples).size).toBe(200);
    // Another instant is another request.
    await Promise.all(providers.map((p) => p.instant('sum(rate(errors[5m]))', T + 60_000)));
    expect(server.asked).toHaveLength(2);
  });

  it('requests sent with other credentials or another query are not shared', async () => {
    const pool = new QueryPool();
    await Promise.all([
      provider(pool, 'a', { headers: { 'X-Scope-OrgID': 'tenant-a' } }).instant('up', T),
      provider(pool, 'b', { headers: { 'X-Scope-OrgID': 'tenant-b' } }).instant('up', T),
      provider(pool, 'c', { headers: { 'X-Scope-OrgID': 'tenant-b' } }).instant('up', T),
      provider(pool, 'd', { headers: { 'X-Scope-OrgID': 'tenant-b' } }).instant('down', T),
    ]);
    expect(server.asked.map((q) => q.form.get('query'))).toEqual(['up', 'up', 'down']);
  });

  it('an error is shared too: every caller has nodata with the reason', async () => {
    server.answer(() => ({ status: 500, body: { status: 'error', errorType: 'internal', error: 'down' } }));
    const pool = new QueryPool();
    const samples = await Promise.all(Array.from({ length: 20 }, (_, i) => provider(pool, `r${i}`).instant('up', T)));
    expect(server.asked).toHaveLength(1);
    expect(new Set(samples.map((s) => (s.value === null ? s.reason : 'a value')))).toEqual(new Set([`Prometheus at ${server.url} failed (HTTP 500): down`]));
  });

  it('never has more requests in flight, nor more connections, than the cap', async () => {
    let atServer = 0;
    let maxAtServer = 0;
    server.answer(async () => {
      maxAtServer = Math.max(maxAtServer, ++atServer);
      await new Promise((resolve) => setTimeout(resolve, 5));
      atServer--;
      return vector('2');
    });
    const pool = new QueryPool({ maxInFlight: 4 });
    const samples = await Promise.all(Array.from({ length: 100 }, (_, i) => provider(pool, `r${i % 10}`).instant(`q${i}`, T)));
    expect(samples.every((s) => s.value === 2)).toBe(true);
    expect(server.asked).toHaveLength(100);
    expect(maxAtServer).toBe(4);
    expect(server.connections).toBeLessThanOrEqual(4);
    // The keep-alive sockets are the pool's agent's.
    expect(Object.values(pool.agents.http.freeSockets).flat().length).toBe(server.connections);
  });

  it('a queued request does not time out while a slow server answers the others within the timeout', async () => {
    server.answer(async () => {
      await new Promise((resolve) => setTimeout(resolve, 150));
      return vector('3');
    });
    const pool = new QueryPool({ maxInFlight: 1 });
    const started = performance.now();
    const samples = await Promise.all(Array.from({ length: 5 }, (_, i) => provider(pool, `r${i}`, { timeoutMs: 400 }).instant(`q${i}`, T)));
    // Five answers one after the other took longer than one timeout, and none timed out.
    expect(performance.now() - started).toBeGreaterThan(400);
    expect(samples).toEqual(Array.from({ length: 5 }, () => ({ value: 3 })));
  });

  it('a server slower than the timeout still times out', async () => {
    const held = gate();
    server.answer(async () => {
      await held.wait();
      return vector('3');
    });
    const s = await provider(new QueryPool(), 'r', { timeoutMs: 100 }).instant('up', T);
    held.open();
    expect(s).toEqual({ value: null, reason: `Prometheus at ${server.url} did not answer within 100ms (timeout)` });
  });

  it('a retry waits for its turn again: another rollout goes between two attempts', async () => {
    let failedOnce = false;
    server.answer(async (q) => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      if (q.form.get('query') === 'a' && !failedOnce) {
        failedOnce = true;
        return { status: 503, body: { status: 'error', errorType: 'unavailable', error: 'busy' } };
      }
      return vector('4');
    });
    const pool = new QueryPool({ maxInFlight: 1 });
    const a = provider(pool, 'ra', { retries: 1, backoff: { minMs: 1, maxMs: 1 } }).instant('a', T);
    const b = provider(pool, 'rb').instant('b', T);
    expect(await Promise.all([a, b])).toEqual([{ value: 4 }, { value: 4 }]);
    expect(server.asked.map((q) => q.form.get('query'))).toEqual(['a', 'b', 'a']);
  });

  it('a guard query still waiting when its budget has passed is not sent: nodata with the reason', async () => {
    const held = gate();
    server.answer(async () => {
      await held.wait();
      return vector('5');
    });
    const pool = new QueryPool({ maxInFlight: 1 });
    const checkpoint = provider(pool, 'busy', { timeoutMs: 10_000 }).instant('slow', T);
    await until(() => server.asked.length === 1);
    const guard = await provider(pool, 'guarded').within(50).instant('up', T);
    expect(guard.value).toBeNull();
    expect(guard.value === null && guard.reason).toMatch(
      /^not sent: the guard query waited (\d+ ms|\d+(\.\d)? s) for one of rollgate's 1 Prometheus query slots \(1 in flight, 0 waiting\), past the guard budget of 50ms: the controller sends more queries than --max-queries lets through$/,
    );
    held.open();
    expect(await checkpoint).toEqual({ value: 5 });
    expect(server.asked.map((q) => q.form.get('query'))).toEqual(['slow']);
  });

  it('guard queries wait behind checkpoint queries', async () => {
    const held = gate();
    server.answer(async (q): Promise<Answer> => {
      if (q.form.get('query') === 'first') await held.wait();
      return vector('6');
    });
    const pool = new QueryPool({ maxInFlight: 1 });
    const first = provider(pool, 'x').instant('first', T);
    await until(() => server.asked.length === 1);
    const guard = provider(pool, 'a').within(60_000).instant('guard', T);
    const checkpoint = provider(pool, 'b').instant('checkpoint', T);
    held.open();
    await Promise.all([first, guard, checkpoint]);
    expect(server.asked.map((q) => q.form.get('query'))).toEqual(['first', 'checkpoint', 'guard']);
  });
});
