/**
 * Judges scenario (e) against a real Prometheus: the guard on a sequential metric. Between the
 * canary phase's checkpoints the canary alone starts failing 30% of its requests (stable stays
 * at 1%). The guard evaluates every 30 s with `consecutive: 3`.
 * - With a sequential metric on the guard, one evaluation whose e-value reaches 1/alpha rolls
 *   back (kind guard): the first tick after the regression, although the plain absolute metric
 *   of the same plan has failed only once there.
 * - The plain metric alone needs its 3 consecutive failing evaluations: two ticks later.
 * Each through `simulate` and through `rollgate run` on a VirtualClock.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenMetricsHistory, between } from '../helpers/openmetrics.js';
import type { RunningPrometheus } from '../helpers/prometheus.js';
import { twoTrackTraffic, type TwoTrackLedger } from '../helpers/two-track-history.js';
import { logEByIntegral } from '../helpers/e-value.js';
import type { SimulationResult } from '../../src/host/simulate.js';
import { comparable, decisions, expectGaplessSeq, historyEnd, HOUR, iso, metric, MIN, runStandalone, SEC, simulateOn, startWithHistory, type StandaloneRun } from './scenario-helpers.js';
import { errorRateMetric, errorsVsStableMetric, expectSequentialNumbers, judgesSpec, phaseCounts, ratioOf } from './scenario-judges-helpers.js';

const END = historyEnd();
const START = END - 3 * 3600;
const T0 = (START + 1800) * 1000;
const REGRESSION = T0 + 40 * MIN; // the canary fails 30% of its requests from here on
const INTERVAL = 30 * SEC;
const s = (ms: number) => ms / 1000;

let ledger: TwoTrackLedger;
function history(): OpenMetricsHistory {
  const h = new OpenMetricsHistory({ start: START, end: END, step: 30 });
  ledger = twoTrackTraffic(h, {
    app: 'api',
    seed: 5,
    canary: { rate: 20, errorRate: between(s(REGRESSION), END, 0.3, 0.01) },
    stable: { rate: 180, errorRate: 0.01 },
  });
  return h;
}

const PLAIN = errorRateMetric(0.05);
const SEQUENTIAL = errorsVsStableMetric('\n      alpha: 0.01');
const spec = (metrics: string) => judgesSpec(metrics, '{ interval: 30s, consecutive: 3 }');
const BOTH = spec(`${SEQUENTIAL}${PLAIN}`);
const PLAIN_ONLY = spec(PLAIN);

let prom: RunningPrometheus;
beforeAll(async () => {
  prom = await startWithHistory('judges-guard', history());
});
afterAll(() => prom?.stop());

describe('a sequential metric on the guard', () => {
  let sim: SimulationResult;
  let run: StandaloneRun;
  beforeAll(async () => {
    [sim, run] = await Promise.all([simulateOn(prom, 'api', BOTH, T0, T0 + 2 * HOUR), runStandalone(prom, 'api', BOTH, T0, T0 + 2 * HOUR)]);
  });

  it('rolls back at the first guard tick after the regression: one evaluation with e >= 1/alpha', () => {
    // Before the regression, no tick of the phase had e >= 1/alpha; the first one after it has.
    for (let t = T0 + INTERVAL; t <= REGRESSION; t += INTERVAL) expect(logEByIntegral(phaseCounts(ledger, T0, t), 0)).toBeLessThan(Math.log(100));
    const tick = REGRESSION + INTERVAL;
    expect(decisions(sim.records)).toEqual(['lifecycle:start@canary', 'checkpoint:continue@canary', 'guard:rollback@canary']);
    const rb = sim.records[2]!;
    expect(rb.at).toBe(iso(tick));
    expect(rb.reason).toContain('errors-vs-stable');
    const seq = metric(rb, 'errors-vs-stable');
    expect(seq.verdict).toBe('fail');
    expect(seq.e!).toBeGreaterThanOrEqual(seq.threshold!);
    expectSequentialNumbers(seq, phaseCounts(ledger, T0, tick), { alpha: 0.01, tolerance: 0 });
    // The plain metric failed this evaluation too, its first of the 3 it needs.
    const plain = metric(rb, 'error-rate');
    expect(plain.verdict).toBe('fail');
    expect(plain.value!).toBeCloseTo(ratioOf(ledger, 'canary', tick, MIN), 12);
    expect(sim.exitCode).toBe(10);
    expectGaplessSeq(sim.records);
  });

  it('rollgate run journals the same rollback', () => {
    expect(comparable(run.records)).toEqual(comparable(sim.records));
    expect(run.split).toEqual({ stable: 100, canary: 0, mirror: 0 });
  });
});

describe('the plain metric alone', () => {
  let sim: SimulationResult;
  let run: StandaloneRun;
  beforeAll(async () => {
    [sim, run] = await Promise.all([simulateOn(prom, 'api', PLAIN_ONLY, T0, T0 + 2 * HOUR), runStandalone(prom, 'api', PLAIN_ONLY, T0, T0 + 2 * HOUR)]);
  });

  it('needs 3 consecutive failing evaluations: rolls back two ticks later', () => {
    expect(decisions(sim.records)).toEqual(['lifecycle:start@canary', 'checkpoint:continue@canary', 'guard:rollback@canary']);
    const rb = sim.records[2]!;
    expect(rb.at).toBe(iso(REGRESSION + 3 * INTERVAL));
    expect(rb.reason).toMatch(/3 consecutive/);
    expect(metric(rb, 'error-rate').value!).toBeCloseTo(ratioOf(ledger, 'canary', REGRESSION + 3 * INTERVAL, MIN), 12);
  });

  it('rollgate run journals the same rollback', () => {
    expect(comparable(run.records)).toEqual(comparable(sim.records));
  });
});
