/**
 * Scenarios 4 and 5 against a real Prometheus:
 * - a latency rise (classic histogram, histogram_quantile) in the last phase rolls back, at the
 *   phase's checkpoint when latency is not guarded, by the guard when it is critical;
 * - missing evidence never advances: a gap in the series (no samples at all) and a 0/0 ratio
 *   (counters that stop increasing: NaN) hold, are judged again after retryInterval, then pause
 *   after inconclusiveLimit; the guard never rolls back on them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenMetricsHistory, exponentialLatency } from '../helpers/openmetrics.js';
import type { RunningPrometheus } from '../helpers/prometheus.js';
import type { SimulationResult } from '../../src/host/simulate.js';
import {
  comparable,
  decisions,
  expectCheckpointsCoverPhases,
  expectGaplessSeq,
  historyEnd,
  HOUR,
  iso,
  metric,
  MIN,
  runStandalone,
  SEC,
  simulateOn,
  startWithHistory,
} from './scenario-helpers.js';

const END = historyEnd();
const START = END - 3 * 3600;
const T0 = (START + 1800) * 1000;
const s = (ms: number) => ms / 1000;

const LATENCY_RISE = T0 + 70 * MIN; // mean latency 0.1 s -> 0.6 s, during the last phase
const QUIET_FROM = T0 + 15 * MIN; // `gappy` has no samples from here on, `idle` gets no more requests

function history(): OpenMetricsHistory {
  const h = new OpenMetricsHistory({ start: START, end: END, step: 15 });
  const slow = { app: 'slow', track: 'canary' };
  h.counter('http_requests_total', { ...slow, code: '200' }, 10)
    .counter('http_requests_total', { ...slow, code: '500' }, 0.01)
    .histogram('http_request_duration_seconds', slow, { rate: 10, latency: exponentialLatency((t) => (t > s(LATENCY_RISE) ? 0.6 : 0.1)) });
  const gap: Array<[number, number]> = [[s(QUIET_FROM), END + 1]];
  h.counter('http_requests_total', { app: 'gappy', track: 'canary', code: '200' }, 10, { gaps: gap })
    .counter('http_requests_total', { app: 'gappy', track: 'canary', code: '500' }, 0.01, { gaps: gap })
    .counter('http_requests_total', { app: 'idle', track: 'canary', code: '200' }, (t) => (t > s(QUIET_FROM) ? 0 : 10))
    .counter('http_requests_total', { app: 'idle', track: 'canary', code: '500' }, (t) => (t > s(QUIET_FROM) ? 0 : 0.01));
  return h;
}

const ERROR_RATE = `
    - name: error-rate
      query: |
        sum(rate(http_requests_total{app="{{app}}",track="canary",code=~"5.."}[{{window}}]))
          / sum(rate(http_requests_total{app="{{app}}",track="canary"}[{{window}}]))
      max: 0.01
      critical: true`;

const latencySpec = (critical: boolean, guard: string) => `
  vars: { app: slow }
  metrics:${ERROR_RATE}
    - name: p95-latency
      query: |
        histogram_quantile(0.95, sum by (le) (
          rate(http_request_duration_seconds_bucket{app="{{app}}",track="canary"}[{{window}}])))
      max: 0.5
      critical: ${critical}
  guard: ${guard}
  phases:
    - { name: canary, weight: 10, checkpoints: [30m] }
    - { name: full, weight: 100, checkpoints: [30m, 1h] }
`;

let prom: RunningPrometheus;
beforeAll(async () => {
  prom = await startWithHistory('latency-nodata', history());
});
afterAll(() => prom?.stop());

describe('a latency rise in the last phase', () => {
  it('rolls back at the last phase checkpoint whose window sees it, on the real p95', async () => {
    const sim = await simulateOn(prom, 'slow', latencySpec(false, '{ interval: 30s, metrics: [error-rate] }'), T0, T0 + 3 * HOUR);
    expect(decisions(sim.records)).toEqual(['lifecycle:start@canary', 'checkpoint:advance@canary', 'checkpoint:continue@full', 'checkpoint:rollback@full']);
    const [, , healthy, rb] = sim.records;
    expect(metric(healthy, 'p95-latency').value!).toBeLessThan(0.5);
    expect(rb!.checkpoint).toMatchObject({ index: 2, of: 2, from: iso(T0 + 60 * MIN), due: iso(T0 + 90 * MIN), window: '30m' });
    const p95 = metric(rb, 'p95-latency');
    // 10 of the 30 minutes at mean 0.1 s, 20 at 0.6 s: the p95 is far above 0.5 s (bucket 1..2.5 s).
    expect(p95).toMatchObject({ verdict: 'fail', max: 0.5 });
    expect(p95.value!).toBeGreaterThan(1);
    expect(p95.value!).toBeLessThan(2.5);
    expect(metric(rb, 'error-rate').verdict).toBe('pass');
    expect(rb!.weight).toEqual({ from: 100, to: 0 });
    expect(sim.exitCode).toBe(10);
    expectCheckpointsCoverPhases(sim.records);
  });

  it('a critical latency metric is caught by the guard within interval × consecutive + window', async () => {
    const sim = await simulateOn(prom, 'slow', latencySpec(true, '{ interval: 20s, consecutive: 3, window: 2m }'), T0, T0 + 3 * HOUR);
    expect(decisions(sim.records)).toEqual(['lifecycle:start@canary', 'checkpoint:advance@canary', 'checkpoint:continue@full', 'guard:rollback@full']);
    const at = Date.parse(sim.records[3]!.at);
    expect(at).toBeGreaterThan(LATENCY_RISE);
    expect(at).toBeLessThanOrEqual(LATENCY_RISE + 3 * 20 * SEC + 2 * MIN);
    const p95 = metric(sim.records[3], 'p95-latency');
    expect(p95.query).toContain('[2m]');
    expect(p95.value!).toBeGreaterThan(0.5);
  });
});

const quietSpec = (app: string) => `
  vars: { app: ${app} }
  metrics:${ERROR_RATE}
  analysis: { retryInterval: 5m, inconclusiveLimit: 2 }
  guard: { interval: 30s, consecutive: 1 }
  phases:
    - { name: canary, weight: 10, checkpoints: [15m, 30m] }
    - { name: full, weight: 100, checkpoints: [1h] }
`;

describe('missing evidence holds, then pauses after inconclusiveLimit, and never advances', () => {
  const EXPECTED = ['lifecycle:start@canary', 'checkpoint:continue@canary', 'checkpoint:hold@canary', 'checkpoint:hold@canary', 'checkpoint:pause@canary'];

  function expectHeldThenPaused(sim: SimulationResult, reason: string) {
    expect(decisions(sim.records)).toEqual(EXPECTED);
    expect(sim.records.some((r) => r.decision === 'advance' || r.decision === 'complete' || r.kind === 'guard')).toBe(false);
    const [, , h1, h2, p] = sim.records;
    // Judged again every retryInterval over the span since the last passed checkpoint.
    expect(h1!.checkpoint).toMatchObject({ from: iso(T0 + 15 * MIN), due: iso(T0 + 30 * MIN), window: '15m', attempt: 1 });
    expect(h2!.checkpoint).toMatchObject({ from: iso(T0 + 15 * MIN), due: iso(T0 + 35 * MIN), window: '20m', attempt: 2 });
    expect(p!.checkpoint).toMatchObject({ from: iso(T0 + 15 * MIN), due: iso(T0 + 40 * MIN), window: '25m', attempt: 3 });
    for (const r of [h1, h2, p]) expect(metric(r, 'error-rate')).toMatchObject({ value: null, verdict: 'nodata', reason });
    expect(p!.weight).toEqual({ from: 10, to: 10 });
    expect(sim.state.status).toBe('paused');
    expect(sim.exitCode).toBe(11);
    expectGaplessSeq(sim.records);
  }

  it('a gap in the series (no samples at all) is nodata: empty result', async () => {
    const sim = await simulateOn(prom, 'gappy', quietSpec('gappy'), T0, T0 + 3 * HOUR);
    expectHeldThenPaused(sim, 'empty result');
    expect(metric(sim.records[1], 'error-rate').value).toBeCloseTo(0.01 / 10.01, 12); // before the gap: real data
  });

  it('a 0/0 ratio (counters that stop increasing) is nodata: NaN', async () => {
    const sim = await simulateOn(prom, 'idle', quietSpec('idle'), T0, T0 + 3 * HOUR);
    expectHeldThenPaused(sim, 'NaN');
  });

  it('rollgate run journals the same holds and pause, keeping the split at 10%', async () => {
    const [run, sim] = await Promise.all([
      runStandalone(prom, 'gappy', quietSpec('gappy'), T0, T0 + 3 * HOUR),
      simulateOn(prom, 'gappy', quietSpec('gappy'), T0, T0 + 3 * HOUR),
    ]);
    expect(comparable(run.records)).toEqual(comparable(sim.records));
    expect(run.state.status).toBe('paused');
    expect(run.split).toEqual({ stable: 90, canary: 10, mirror: 0 });
  });
});
