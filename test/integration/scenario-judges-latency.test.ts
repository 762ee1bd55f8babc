/**
 * Judges scenario (d) against a real Prometheus: a latency shift caught by Mann-Whitney. Both
 * tracks' requests take exponentially distributed times (mean 0.1 s, with noise per sample);
 * the canary of app `shifted` is 30% slower, the canary of app `same` is not. The metric
 * compares the p90 series of both tracks over each checkpoint's window (30 s steps), with a
 * 10% effect-size floor and confidence 0.98 split over the phase's checkpoints.
 * - `shifted`: the first checkpoint fails (the shift's interval lies above the floor): rollback.
 * - `same`: every checkpoint passes and the rollout completes.
 * The records carry the points, both medians, the Hodges-Lehmann estimate, its interval, U, the
 * p-value and the level; they are checked against the series Prometheus returns. Each through
 * `simulate` and through `rollgate run` on a VirtualClock.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenMetricsHistory } from '../helpers/openmetrics.js';
import type { RunningPrometheus } from '../helpers/prometheus.js';
import { twoTrackTraffic } from '../helpers/two-track-history.js';
import type { SimulationResult } from '../../src/host/simulate.js';
import type { DecisionRecord } from '../../src/core/record.js';
import { comparable, decisions, expectGaplessSeq, historyEnd, HOUR, iso, metric, MIN, provider, runStandalone, SEC, simulateOn, startWithHistory, type StandaloneRun } from './scenario-helpers.js';

const END = historyEnd();
const START = END - 3 * 3600;
const T0 = (START + 1800) * 1000;
const RAMP = T0 + 30 * MIN;
const STEP = 30 * SEC;

function history(): OpenMetricsHistory {
  const h = new OpenMetricsHistory({ start: START, end: END, step: 30 });
  for (const [app, slower] of [
    ['shifted', 1.3],
    ['same', 1],
  ] as const) {
    twoTrackTraffic(h, {
      app,
      seed: 4,
      canary: { rate: 20, errorRate: 0.01, latencyMean: 0.1 * slower },
      stable: { rate: 180, errorRate: 0.01, latencyMean: 0.1 },
    });
  }
  return h;
}

const p90 = (track: string) => `histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket{app="{{app}}",track="${track}"}[1m])))`;

const spec = (app: string) => `
  vars: { app: ${app} }
  metrics:
    - name: latency-shift
      query: '${p90('canary')}'
      baseline: '${p90('stable')}'
      test: mann-whitney
      worse: higher
      confidence: 0.98
      tolerance: 10%
      step: 30s
      minSamples: 20
      critical: true
  guard: { interval: 30s }
  phases:
    - { name: canary, weight: 10, checkpoints: [15m, 30m] }
    - { name: ramp, weight: 50, checkpoints: [30m] }
`;

let prom: RunningPrometheus;
beforeAll(async () => {
  prom = await startWithHistory('judges-latency', history());
});
afterAll(() => prom?.stop());

/** The p90 points of one track over the checkpoint's window, as Prometheus returns them. */
async function points(app: string, track: string, r: DecisionRecord): Promise<number[]> {
  const series = await provider(prom).range(p90(track).replace('{{app}}', app), Date.parse(r.checkpoint!.from!), Date.parse(r.checkpoint!.due), STEP);
  return [...series.values()].flatMap((s) => (s.value === null ? [] : [s.value]));
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Mann-Whitney U of the canary (mid-ranks for ties) and the Hodges-Lehmann estimate. */
function mannWhitney(canary: number[], baseline: number[]): { u: number; estimate: number } {
  const all = [...canary.map((v) => ({ v, c: true })), ...baseline.map((v) => ({ v, c: false }))].sort((a, b) => a.v - b.v);
  let rankSum = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j + 1 < all.length && all[j + 1]!.v === all[i]!.v) j++;
    const midRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) if (all[k]!.c) rankSum += midRank;
    i = j + 1;
  }
  return { u: rankSum - (canary.length * (canary.length + 1)) / 2, estimate: median(canary.flatMap((c) => baseline.map((b) => c - b))) };
}

/** The record's Mann-Whitney numbers agree with the points Prometheus returns for its window. */
async function expectMannWhitneyNumbers(app: string, r: DecisionRecord, level: number): Promise<void> {
  const canary = await points(app, 'canary', r);
  const baseline = await points(app, 'stable', r);
  const m = metric(r, 'latency-shift');
  const { u, estimate } = mannWhitney(canary, baseline);
  expect(m).toMatchObject({ test: 'mann-whitney', points: { canary: canary.length, baseline: baseline.length }, dropped: { canary: 0, baseline: 0 } });
  expect(canary.length).toBeGreaterThanOrEqual(20);
  expect(m.canaryMedian!).toBeCloseTo(median(canary), 12);
  expect(m.baselineMedian!).toBeCloseTo(median(baseline), 12);
  expect(m.value!).toBeCloseTo(median(canary), 12);
  expect(m.estimate!).toBeCloseTo(estimate, 12);
  expect(m.u!).toBeCloseTo(u, 9);
  expect(m.level!).toBeCloseTo(level, 12);
  expect(m.effectFloor!).toBeCloseTo(0.1 * Math.abs(median(baseline)), 12);
  expect(m.interval!.lower!).toBeLessThanOrEqual(estimate);
  expect(m.interval!.upper!).toBeGreaterThanOrEqual(estimate);
  expect(m.pValue!).toBeGreaterThanOrEqual(0);
  expect(m.pValue!).toBeLessThanOrEqual(1);
}

describe('a canary 30% slower than stable', () => {
  let sim: SimulationResult;
  let run: StandaloneRun;
  beforeAll(async () => {
    [sim, run] = await Promise.all([simulateOn(prom, 'shifted', spec('shifted'), T0, T0 + 2 * HOUR), runStandalone(prom, 'shifted', spec('shifted'), T0, T0 + 2 * HOUR)]);
  });

  it('fails the first checkpoint and rolls back (the guard does not run Mann-Whitney)', () => {
    expect(decisions(sim.records)).toEqual(['lifecycle:start@canary', 'checkpoint:rollback@canary']);
    const rb = sim.records[1]!;
    expect(rb.checkpoint).toMatchObject({ index: 1, of: 2, from: iso(T0), due: iso(T0 + 15 * MIN) });
    expect(metric(rb, 'latency-shift').verdict).toBe('fail');
    expect(sim.exitCode).toBe(10);
  });

  it('records the statistics: the interval of the shift lies above the floor, level 1 - 0.02/2', async () => {
    const rb = sim.records[1]!;
    await expectMannWhitneyNumbers('shifted', rb, 0.99);
    const m = metric(rb, 'latency-shift');
    expect(m.interval!.lower!).toBeGreaterThan(m.effectFloor!);
    expect(m.pValue!).toBeLessThan(0.01);
    // p90 of an exponential is 2.3 x its mean: about 0.23 s against 0.30 s.
    expect(m.baselineMedian!).toBeCloseTo(0.23, 1);
    expect(m.estimate! / m.baselineMedian!).toBeGreaterThan(0.2);
  });

  it('rollgate run journals the same rollback', () => {
    expect(comparable(run.records)).toEqual(comparable(sim.records));
    expect(run.split).toEqual({ stable: 100, canary: 0, mirror: 0 });
  });
});

describe('a canary as fast as stable', () => {
  let sim: SimulationResult;
  let run: StandaloneRun;
  beforeAll(async () => {
    [sim, run] = await Promise.all([simulateOn(prom, 'same', spec('same'), T0, T0 + 2 * HOUR), runStandalone(prom, 'same', spec('same'), T0, T0 + 2 * HOUR)]);
  });

  it('passes every checkpoint and completes', () => {
    expect(decisions(sim.records)).toEqual(['lifecycle:start@canary', 'checkpoint:continue@canary', 'checkpoint:advance@canary', 'checkpoint:complete@ramp']);
    expect(sim.records.at(-1)!.at).toBe(iso(RAMP + 30 * MIN));
    expect(sim.exitCode).toBe(0);
    expectGaplessSeq(sim.records);
  });

  it('records the statistics of each checkpoint, at level 1 - 0.02/K', async () => {
    const [, first, second, last] = sim.records;
    await expectMannWhitneyNumbers('same', first!, 0.99);
    await expectMannWhitneyNumbers('same', second!, 0.99);
    await expectMannWhitneyNumbers('same', last!, 0.98);
    for (const r of [first, second, last]) {
      const m = metric(r, 'latency-shift');
      expect(m.verdict).toBe('pass');
      expect(m.interval!.lower!).toBeLessThanOrEqual(m.effectFloor!);
    }
  });

  it('rollgate run journals the same records', () => {
    expect(comparable(run.records)).toEqual(comparable(sim.records));
    expect(run.state.status).toBe('complete');
  });
});
