/**
 * Scenario 1 against a real Prometheus: a healthy canary goes 10% -> 50% -> 100% and completes,
 * judged on the real error ratio and the real p95 of a latency histogram, through `simulate`
 * and through `rollgate run` (StandaloneController on a VirtualClock, JSONL journal on disk,
 * file router).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenMetricsHistory, exponentialLatency, DEFAULT_BUCKETS } from '../helpers/openmetrics.js';
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
  simulateOn,
  startWithHistory,
  type StandaloneRun,
} from './scenario-helpers.js';

const END = historyEnd();
const START = END - 3 * 3600;
const T0 = (START + 1800) * 1000; // the rollout starts half an hour into the history

const OK_RATE = 10; // requests/s answered 200
const ERR_RATE = 0.02; // requests/s answered 500
const MEAN_LATENCY = 0.1; // seconds, exponentially distributed

function history(): OpenMetricsHistory {
  const app = { app: 'shop', track: 'canary' };
  return new OpenMetricsHistory({ start: START, end: END, step: 15 })
    .counter('http_requests_total', { ...app, code: '200' }, OK_RATE)
    .counter('http_requests_total', { ...app, code: '500' }, ERR_RATE)
    .histogram('http_request_duration_seconds', app, { rate: OK_RATE + ERR_RATE, latency: exponentialLatency(MEAN_LATENCY) });
}

const SPEC = `
  vars: { app: shop }
  metrics:
    - name: error-rate
      query: |
        sum(rate(http_requests_total{app="{{app}}",track="canary",code=~"5.."}[{{window}}]))
          / sum(rate(http_requests_total{app="{{app}}",track="canary"}[{{window}}]))
      max: 0.005
      critical: true
    - name: p95-latency
      query: |
        histogram_quantile(0.95, sum by (le) (
          rate(http_request_duration_seconds_bucket{app="{{app}}",track="canary"}[{{window}}])))
      max: 0.5
  guard: { interval: 30s, consecutive: 2 }
  phases:
    - { name: canary, weight: 10, checkpoints: [15m, 30m] }
    - { name: ramp, weight: 50, checkpoints: [30m] }
    - { name: full, weight: 100, checkpoints: [30m, 1h] }
`;

/** What histogram_quantile(0.95) gives for these buckets: linear inside the bucket where the CDF crosses 0.95. */
function expectedP95(mean: number): number {
  const cdf = (le: number) => 1 - Math.exp(-le / mean);
  const i = DEFAULT_BUCKETS.findIndex((le) => cdf(le) >= 0.95);
  const lo = i === 0 ? 0 : DEFAULT_BUCKETS[i - 1]!;
  const hi = DEFAULT_BUCKETS[i]!;
  const cLo = i === 0 ? 0 : cdf(lo);
  return lo + ((0.95 - cLo) / (cdf(hi) - cLo)) * (hi - lo);
}

const EXPECTED = [
  'lifecycle:start@canary',
  'checkpoint:continue@canary',
  'checkpoint:advance@canary',
  'checkpoint:advance@ramp',
  'checkpoint:continue@full',
  'checkpoint:complete@full',
];

let prom: RunningPrometheus;
beforeAll(async () => {
  prom = await startWithHistory('healthy', history());
});
afterAll(() => prom?.stop());

describe('a healthy rollout completes against real Prometheus history', () => {
  let sim: SimulationResult;
  beforeAll(async () => {
    sim = await simulateOn(prom, 'shop', SPEC, T0, T0 + 3 * HOUR);
  });

  it('simulate: start, continue, advance, advance, continue, complete (exit 0)', () => {
    expect(decisions(sim.records)).toEqual(EXPECTED);
    expect(sim.exitCode).toBe(0);
    expect(sim.state.status).toBe('complete');
    expectGaplessSeq(sim.records);
  });

  it('each checkpoint is judged at its due instant, and the splits go 0 -> 10 -> 50 -> 100', () => {
    expect(sim.records.map((r) => r.at)).toEqual([T0, T0 + 15 * MIN, T0 + 30 * MIN, T0 + 60 * MIN, T0 + 90 * MIN, T0 + 120 * MIN].map(iso));
    expect(sim.records.map((r) => [r.weight.from, r.weight.to])).toEqual([
      [0, 10],
      [10, 10],
      [10, 50],
      [50, 100],
      [100, 100],
      [100, 100],
    ]);
  });

  it('the checkpoint windows cover every phase without gaps', () => {
    expectCheckpointsCoverPhases(sim.records);
    expect(sim.records.slice(1).map((r) => r.checkpoint!.window)).toEqual(['15m', '15m', '30m', '30m', '30m']);
  });

  it('records carry the real computed error ratio and p95, with the rendered queries', () => {
    for (const r of sim.records.slice(1)) {
      const errors = metric(r, 'error-rate');
      expect(errors.value).toBeCloseTo(ERR_RATE / (OK_RATE + ERR_RATE), 12);
      expect(errors).toMatchObject({ verdict: 'pass', max: 0.005, critical: true });
      expect(errors.query).toContain(`[${r.checkpoint!.window}]`);
      expect(errors.query).toContain('app="shop"');
      const p95 = metric(r, 'p95-latency');
      expect(p95.value).toBeCloseTo(expectedP95(MEAN_LATENCY), 9);
      expect(p95.verdict).toBe('pass');
    }
    expect(sim.records.at(-1)!.reason).toContain('complete');
  });

  it('the guard asked Prometheus for ranges, not one instant query per tick', () => {
    // 2 h of guard ticks every 30 s on one critical metric: 240 ticks.
    expect(sim.prefetch.rangeRequests).toBeLessThanOrEqual(4);
    expect(sim.prefetch.cachedAnswers).toBeGreaterThan(200);
  });
});

describe('the same healthy rollout under rollgate run (standalone controller, virtual clock)', () => {
  let run: StandaloneRun;
  let sim: SimulationResult;
  beforeAll(async () => {
    [run, sim] = await Promise.all([runStandalone(prom, 'shop', SPEC, T0, T0 + 3 * HOUR), simulateOn(prom, 'shop', SPEC, T0, T0 + 3 * HOUR)]);
  });

  it('journals start, continue, advance..., complete as JSONL on disk with gapless seq', () => {
    expect(decisions(run.records)).toEqual(EXPECTED);
    expectGaplessSeq(run.records);
    expect(run.journalFile).toMatch(/state\/journal\/default\/shop\.jsonl$/);
    expect(run.state.status).toBe('complete');
  });

  it('confirms every split in the journal and leaves the file router at 100% canary', () => {
    expect(run.applied.map((a) => [a.applied, a.weight])).toEqual([
      [1, 10],
      [3, 50],
      [4, 100],
    ]);
    expect(run.split).toEqual({ stable: 0, canary: 100, mirror: 0 });
  });

  it('decides exactly what simulate decides (same times, values, verdicts)', () => {
    expect(comparable(run.records)).toEqual(comparable(sim.records));
    expectCheckpointsCoverPhases(run.records);
  });
});
