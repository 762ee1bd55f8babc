/**
 * PrometheusProvider, the alerts query and RangePrefetchProvider against a real Prometheus
 * (2.42) loaded with six hours of generated history.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { silentLogger } from '../../src/support/log.js';
import { PrometheusProvider, type QueryInfo } from '../../src/metrics/prometheus.js';
import { RangePrefetchProvider } from '../../src/metrics/prefetch.js';
import { alertsQuery } from '../../src/plan/alerts.js';
import type { Sample } from '../../src/core/metrics-provider.js';
import { OpenMetricsHistory, between, exponentialLatency } from '../helpers/openmetrics.js';
import { startPrometheus, type RunningPrometheus } from '../helpers/prometheus.js';

const STEP = 15;
const END = Math.floor(Date.now() / 1000 / 3600) * 3600 - 3600; // a whole hour, at least an hour ago
const START = END - 6 * 3600;
const ms = (s: number) => s * 1000;

// Events in the history (epoch seconds).
const SPIKE = [START + 3 * 3600, START + 3 * 3600 + 600] as const; // 10 minutes of 5 errors/s
const GAP = [START + 4 * 3600, START + 4 * 3600 + 1800] as const; // 30 minutes without flaky_total samples
const BRIEF_A = START + 2 * 3600; // alert A fires for one minute
const LONG_B = [START + 2 * 3600 + 600, START + 2 * 3600 + 1800] as const; // alert B fires 20 minutes
const PENDING_C = START + 5 * 3600; // alert C is pending, never fires

function history(): string {
  return new OpenMetricsHistory({ start: START, end: END, step: STEP })
    .counter('http_requests_total', { track: 'canary', code: '200' }, 10)
    .counter('http_requests_total', { track: 'canary', code: '500' }, between(SPIKE[0], SPIKE[1], 5, 0))
    .counter('http_requests_total', { track: 'stable', code: '200' }, 20)
    .counter('idle_total', { app: 'analyzer' }, 0)
    .counter('flaky_total', { app: 'analyzer' }, 1, { gaps: [[GAP[0], GAP[1]]] })
    .gauge('queue_depth', { app: 'analyzer' }, (t) => (t % 60 === 0 ? 3 : 4))
    .histogram('http_request_duration_seconds', { track: 'canary' }, { rate: 10, latency: exponentialLatency(0.2) })
    .alert('A', { severity: 'critical' }, { firingFrom: BRIEF_A, until: BRIEF_A + 60 })
    .alert('B', { severity: 'critical' }, { pendingFrom: LONG_B[0] - 120, firingFrom: LONG_B[0], until: LONG_B[1] })
    .alert('C', { severity: 'critical' }, { pendingFrom: PENDING_C, firingFrom: END + 3600, until: END + 7200 })
    .alert('D', { severity: 'warning' }, { firingFrom: BRIEF_A, until: BRIEF_A + 600 })
    .text();
}

let prom: RunningPrometheus;
let provider: PrometheusProvider;
const requests: QueryInfo[] = [];

beforeAll(async () => {
  prom = await startPrometheus({ openMetrics: history() });
  console.info(`prometheus: blocks written in ${prom.importMs.toFixed(0)} ms, ready in ${prom.startupMs.toFixed(0)} ms`);
  provider = new PrometheusProvider({ address: prom.url, log: silentLogger(), onQuery: (i) => requests.push(i) });
});
afterAll(() => prom?.stop());

const value = (s: Sample) => s.value;
const at = (t: number) => ms(t);
const MID = START + 3600;

describe('the harness', () => {
  it('starts Prometheus quickly', () => {
    expect(prom.startupMs).toBeLessThan(5_000);
  });

  it('stop() ends the process and removes its directory', async () => {
    const other = await startPrometheus();
    expect((await fetch(`${other.url}/-/ready`)).ok).toBe(true);
    await other.stop();
    await other.stop(); // idempotent
    expect(existsSync(other.dataDir)).toBe(false);
    await expect(fetch(`${other.url}/-/ready`)).rejects.toThrow();
  });
});

describe('PrometheusProvider on real Prometheus: one number or nodata', () => {
  it('a scalar gives its value', async () => {
    expect(await provider.instant('scalar(sum(rate(http_requests_total{track="canary",code="200"}[5m])))', at(MID))).toEqual({ value: 10 });
    expect(await provider.instant('1 + 1', at(MID))).toEqual({ value: 2 });
  });

  it('a vector with one sample gives its value', async () => {
    expect(value(await provider.instant('sum(rate(http_requests_total{track="canary"}[5m]))', at(MID)))).toBeCloseTo(10, 9);
    expect(await provider.instant('max(queue_depth)', at(MID - (MID % 60)))).toEqual({ value: 3 });
  });

  it('an empty vector is nodata "empty result"', async () => {
    expect(await provider.instant('sum(rate(nothing_total[5m]))', at(MID))).toEqual({ value: null, reason: 'empty result' });
  });

  it('0/0 is nodata NaN', async () => {
    expect(await provider.instant('sum(rate(idle_total[5m])) / sum(rate(idle_total[5m]))', at(MID))).toEqual({ value: null, reason: 'NaN' });
  });

  it('x/0 is nodata +Inf, -x/0 is -Inf', async () => {
    const q = 'sum(rate(http_requests_total{track="canary"}[5m])) / sum(rate(idle_total[5m]))';
    expect(await provider.instant(q, at(MID))).toEqual({ value: null, reason: '+Inf' });
    expect(await provider.instant(`-${q}`, at(MID))).toEqual({ value: null, reason: '-Inf' });
  });

  it('several samples are nodata', async () => {
    expect(await provider.instant('rate(http_requests_total{code="200"}[5m])', at(MID))).toEqual({ value: null, reason: '2 samples, expected one' });
  });

  it('an error spike shows between its bounds only', async () => {
    const q = 'sum(rate(http_requests_total{code="500"}[5m])) / sum(rate(http_requests_total{track="canary"}[5m]))';
    expect(await provider.instant(q, at(SPIKE[0] - 60))).toEqual({ value: 0 });
    expect(value(await provider.instant(q, at(SPIKE[0] + 300)))).toBeCloseTo(5 / 15, 9);
    expect(await provider.instant(q, at(SPIKE[1] + 600))).toEqual({ value: 0 });
  });

  it('a series with a gap is nodata inside the gap when the rate window is shorter than the gap', async () => {
    expect(value(await provider.instant('sum(rate(flaky_total[5m]))', at(GAP[0] - 600)))).toBeCloseTo(1, 9);
    expect(await provider.instant('sum(rate(flaky_total[5m]))', at(GAP[0] + 900))).toEqual({ value: null, reason: 'empty result' });
    expect(value(await provider.instant('sum(rate(flaky_total[5m]))', at(GAP[1] + 600)))).toBeCloseTo(1, 9);
  });

  it('histogram buckets give a plausible median latency (exponential, mean 200 ms)', async () => {
    const q = 'histogram_quantile(0.5, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))';
    const median = value(await provider.instant(q, at(MID)));
    expect(median).toBeGreaterThan(0.1);
    expect(median).toBeLessThan(0.25);
  });

  it('a bad query is a plan problem naming the query and Prometheus error, asked once', async () => {
    const before = requests.length;
    const s = await provider.instant('sum(rate(http_requests_total[5m])', at(MID));
    expect(s.value === null && s.reason).toMatch(/^bad query \(a plan problem, not retried\): Prometheus said: .*parse error.*; query: sum\(rate\(http_requests_total\[5m\]\)$/);
    expect(requests.length - before).toBe(1);
  });

  it('a range query gives the same values as instant queries at the same instants', async () => {
    const q = 'sum(rate(http_requests_total{code="500"}[1m]))';
    const start = ms(SPIKE[0] - 1200 + 7); // deliberately not on the data's 15 s grid
    const end = start + ms(3600);
    const range = await provider.range(q, start, end, 30_000);
    expect(range.size).toBe(121);
    const instants = await Promise.all([...range.keys()].map(async (t) => [t, await provider.instant(q, t)] as const));
    expect(new Map(instants)).toEqual(range);
    expect([...range.values()].some((s) => s.value !== null && s.value > 4)).toBe(true);
  });

  it('a range over a gap has nodata steps in the gap only', async () => {
    const range = await provider.range('sum(rate(flaky_total[5m]))', ms(GAP[0] - 600), ms(GAP[1] + 600), 60_000);
    for (const [t, s] of range) {
      const inGap = t > ms(GAP[0] + 300) && t < ms(GAP[1]);
      if (inGap) expect(s).toEqual({ value: null, reason: 'empty result' });
      if (t < ms(GAP[0]) || t > ms(GAP[1] + 300)) expect(value(s)).toBeCloseTo(1, 9);
    }
  });
});

describe('the alerts query on real Prometheus', () => {
  const critical = (window: string) => alertsQuery('severity="critical"').replace('{{window}}', window);

  it('is 0 (not empty) when no alert fired in the window', async () => {
    expect(await provider.instant(critical('30m'), at(BRIEF_A - 60))).toEqual({ value: 0 });
  });

  it('is 1 when one alert fired briefly inside the window', async () => {
    expect(await provider.instant(critical('30m'), at(BRIEF_A + 9 * 60))).toEqual({ value: 1 });
  });

  it('is 0 again once the brief alert is older than the window', async () => {
    expect(await provider.instant(critical('5m'), at(BRIEF_A + 9 * 60))).toEqual({ value: 0 });
  });

  it('is 2 for two distinct alerts in the window', async () => {
    expect(await provider.instant(critical('1h'), at(LONG_B[0] + 300))).toEqual({ value: 2 });
  });

  it('ignores pending alerts, and alerts that do not match', async () => {
    expect(await provider.instant(critical('30m'), at(PENDING_C + 600))).toEqual({ value: 0 });
    expect(await provider.instant(critical('1m'), at(LONG_B[0] - 30))).toEqual({ value: 0 }); // B pending
    expect(await provider.instant(alertsQuery('severity="warning"').replace('{{window}}', '30m'), at(BRIEF_A + 600))).toEqual({ value: 1 });
  });
});

describe('RangePrefetchProvider on real Prometheus', () => {
  it('answers 1,200 guard ticks with 2 requests and the values of instant queries', async () => {
    const q = 'sum(rate(http_requests_total{code="500"}[1m])) / sum(rate(http_requests_total{track="canary"}[1m]))';
    const step = 15_000;
    const first = ms(SPIKE[0]) - 2 * 3_600_000 + 3_000;
    const ticks = Array.from({ length: 1200 }, (_, i) => first + i * step); // 5 hours
    const counted: QueryInfo[] = [];
    const inner = new PrometheusProvider({ address: prom.url, log: silentLogger(), onQuery: (i) => counted.push(i) });
    const prefetch = new RangePrefetchProvider(inner, { stepMs: step });
    const viaPrefetch: Sample[] = [];
    for (const t of ticks) viaPrefetch.push(await prefetch.instant(q, t));
    expect(counted.map((i) => i.kind)).toEqual(['instant', 'range']);

    const direct = await Promise.all(ticks.map((t) => provider.instant(q, t)));
    expect(viaPrefetch).toEqual(direct);
    expect(viaPrefetch.filter((s) => s.value !== null && s.value > 0).length).toBeGreaterThan(30);
  });
});
