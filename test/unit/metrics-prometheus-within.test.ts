/**
 * PrometheusProvider.within(budget): the provider of guard ticks, bounded so that one failing
 * query never outlasts the guard interval (issue 7, defect 3). Counted in requests, not time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrometheusProvider } from '../../src/metrics/prometheus.js';
import { silentLogger } from '../../src/support/log.js';
import { startAnsweringServer, type AnsweringServer } from '../helpers/answering-server.js';

let server: AnsweringServer;
beforeAll(async () => {
  server = await startAnsweringServer(() => ({ status: 500, body: { status: 'error', errorType: 'internal', error: 'down' } }));
});
afterAll(() => server?.close());

const base = () => new PrometheusProvider({ address: server.url, log: silentLogger(), timeoutMs: 10_000, retries: 3, backoff: { minMs: 5, maxMs: 20 } });

async function attempts(p: PrometheusProvider): Promise<{ n: number; timeout: string | null; reason: string }> {
  const before = server.asked.length;
  const s = await p.instant('up', Date.now());
  const asked = server.asked.slice(before);
  return { n: asked.length, timeout: asked[0]?.form.get('timeout') ?? null, reason: s.value === null ? s.reason : '' };
}

describe('PrometheusProvider.within', () => {
  it('the unbounded provider tries 4 times', async () => {
    expect(await attempts(base())).toMatchObject({ n: 4, timeout: '10' });
  });

  it('a budget shorter than the timeout: the timeout is the budget and there is no retry', async () => {
    const r = await attempts(base().within(1_000));
    expect(r).toMatchObject({ n: 1, timeout: '1' });
    expect(r.reason).toBe(`Prometheus at ${server.url} failed (HTTP 500): down`);
  });

  it('a budget that holds two attempts and the first backoff: one retry', async () => {
    expect(await attempts(base().within(30_000))).toMatchObject({ n: 2, timeout: '10' });
  });

  it('a budget just short of two attempts: no retry', async () => {
    expect(await attempts(base().within(20_000))).toMatchObject({ n: 1, timeout: '10' });
  });
});
