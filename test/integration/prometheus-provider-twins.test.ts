/**
 * Real-Prometheus twins of the nock-only PrometheusProvider tests in
 * test/unit/metrics-prometheus.test.ts: a 422 execution error, range splitting over 10,000
 * points, a route prefix (`--web.route-prefix`), basic auth (`--web.config.file` with a bcrypt
 * hash) and timeouts (the `timeout=` Prometheus honours, on a heavy query).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/support/log.js';
import { PrometheusProvider, type QueryInfo, type PrometheusProviderOptions } from '../../src/metrics/prometheus.js';
import { OpenMetricsHistory } from '../helpers/openmetrics.js';
import { startPrometheus, type RunningPrometheus } from '../helpers/prometheus.js';

const STEP = 15;
const END = Math.floor(Date.now() / 1000 / 3600) * 3600 - 3600;
const START = END - 8 * 3600;
const USER = 'twin';
const PASSWORD = 'twin-Pa55-c81f0e';
/** bcrypt of PASSWORD, cost 4 (Prometheus verifies it; strength does not matter here). */
const PASSWORD_BCRYPT = '$2b$04$iNQvm6ojJwPxdPCqPgSAC.LRUUdz5kFXTeB80ME8OTNjM4T8VMlxS';

let plain: RunningPrometheus;
let guarded: RunningPrometheus;
let dir: string;

beforeAll(async () => {
  const history = new OpenMetricsHistory({ start: START, end: END, step: STEP })
    .gauge('queue_depth', { app: 'analyzer', k: 'a' }, (t) => (t % 60 === 0 ? 3 : 4))
    .gauge('queue_depth', { app: 'analyzer', k: 'b' }, 1)
    .text();
  [plain, guarded] = await Promise.all([
    startPrometheus({ openMetrics: history }),
    startPrometheus({ routePrefix: '/prom', basicAuth: { username: USER, password: PASSWORD, bcryptHash: PASSWORD_BCRYPT } }),
  ]);
  dir = mkdtempSync(join(tmpdir(), 'rollgate-twins-'));
});
afterAll(async () => {
  await Promise.all([plain?.stop(), guarded?.stop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function provider(address: string, opts: Partial<PrometheusProviderOptions> = {}): { p: PrometheusProvider; calls: QueryInfo[] } {
  const calls: QueryInfo[] = [];
  const p = new PrometheusProvider({ address, log: silentLogger(), backoff: { minMs: 10, maxMs: 20 }, onQuery: (i) => calls.push(i), ...opts });
  return { p, calls };
}

const at = (END - 3600) * 1000;

describe('PrometheusProvider on real Prometheus: the nock tests twinned', () => {
  it('a 422 execution error is a plan problem, asked once', async () => {
    // Two series made identical by dropping `k`: an execution error (HTTP 422), not a parse error.
    const { p, calls } = provider(plain.url);
    const s = await p.instant('sum(label_replace(queue_depth, "k", "", "k", ".*"))', at);
    expect(s.value).toBeNull();
    expect(s.value === null && s.reason).toMatch(/bad query \(a plan problem, not retried\).*same labelset/);
    expect(calls.map((c) => [c.status, c.errorKind])).toEqual([[422, 'bad-query']]);
  });

  it('a range of 25,000 points is split into 3 requests with the values of instant queries', async () => {
    const { p, calls } = provider(plain.url);
    const from = (START + 600) * 1000;
    const to = from + 25_000 * 1000 - 1000;
    const out = await p.range('max(queue_depth{k="a"})', from, to, 1000);
    expect(out.size).toBe(25_000);
    expect(calls.filter((c) => c.kind === 'range' && c.ok)).toHaveLength(3);
    for (const t of [from, from + 10_000 * 1000, to]) {
      expect(out.get(t), new Date(t).toISOString()).toEqual(await p.instant('max(queue_depth{k="a"})', t));
    }
  });

  it('keeps a route prefix (--web.route-prefix) and authenticates with basic auth (--web.config.file)', async () => {
    writeFileSync(join(dir, 'password'), `${PASSWORD}\n`);
    const { p, calls } = provider(guarded.url, { basicAuth: { username: USER, passwordFile: join(dir, 'password') } });
    expect(guarded.url).toMatch(/\/prom$/);
    expect(await p.instant('vector(2)', Date.now())).toEqual({ value: 2 });
    expect(calls.map((c) => c.status)).toEqual([200]);
  });

  it('without the prefix the answer is a 404 naming the address to check', async () => {
    writeFileSync(join(dir, 'password'), `${PASSWORD}\n`);
    const { p } = provider(guarded.url.replace(/\/prom$/, ''), { basicAuth: { username: USER, passwordFile: join(dir, 'password') } });
    const s = await p.instant('vector(2)', Date.now());
    expect(s.value === null && s.reason).toMatch(/HTTP 404.*check prometheus.address/);
  });

  it('a wrong password is refused (401), not retried, and the reason carries no secret', async () => {
    writeFileSync(join(dir, 'wrong'), 'not-the-password\n');
    const { p, calls } = provider(guarded.url, { basicAuth: { username: USER, passwordFile: join(dir, 'wrong') } });
    const s = await p.instant('vector(2)', Date.now());
    expect(s.value === null && s.reason).toMatch(/refused the credentials \(HTTP 401\)/);
    expect(calls).toHaveLength(1);
    expect(s.value === null && s.reason).not.toContain('not-the-password');
    expect(s.value === null && s.reason).not.toContain(Buffer.from(`${USER}:not-the-password`).toString('base64'));
  });

  it('a query slower than the timeout (sent as timeout=) is a timeout on every attempt, then nodata', async () => {
    // About 2.6 million subquery steps: far more than 50 ms of work.
    const { p, calls } = provider(plain.url, { timeoutMs: 50, retries: 1 });
    const s = await p.instant('max_over_time(sum(queue_depth)[30d:1s])', at);
    expect(s.value).toBeNull();
    expect(s.value === null && s.reason).toMatch(/(did not answer within 50ms \(timeout\)|timed out).*gave up after 2 attempts/);
    expect(calls).toHaveLength(2);
    expect(calls.every((c) => !c.ok && (c.errorKind === 'timeout' || c.errorKind === 'server'))).toBe(true);
  });
});
