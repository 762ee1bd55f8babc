/**
 * Judges scenario (b) against a real Prometheus: a x2 error-rate regression that stays below
 * the absolute threshold. The canary fails 1% of its requests, the stable track 0.5%; the
 * plan's absolute bound is 2%.
 * - The fixed absolute threshold passes the regression: the rollout completes.
 * - The sequential test (alpha 0.01, tolerance 10%) rolls it back: without a guard at the canary
 *   phase's first checkpoint; with the guard on, at the first guard tick whose e-value reaches
 *   1/alpha (computed here from the history's counts at every tick of the phase).
 * Each through `simulate` and through `rollgate run` on a VirtualClock.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenMetricsHistory } from '../helpers/openmetrics.js';
import type { RunningPrometheus } from '../helpers/prometheus.js';
import { twoTrackTraffic, type TwoTrackLedger } from '../helpers/two-track-history.js';
import { logEByIntegral } from '../helpers/e-value.js';
import type { SimulationResult } from '../../src/host/simulate.js';
import { comparable, decisions, expectGaplessSeq, historyEnd, HOUR, iso, metric, MIN, runStandalone, SEC, simulateOn, startWithHistory, type StandaloneRun } from './scenario-helpers.js';
import { errorRateMetric, errorsVsStableMetric, expectSequentialNumbers, judgesSpec, phaseCounts, ratioOf } from './scenario-judges-helpers.js';

const END = historyEnd();
const START = END - 3 * 3600;
const T0 = (START + 1800) * 1000; // the rollout starts (10% canary) on a sample instant
const RAMP = T0 + HOUR;
const s = (ms: number) => ms / 1000;
const ALPHA = 0.01;
const TOLERANCE = 0.1;
const GUARD_INTERVAL = 30 * SEC;

let ledger: TwoTrackLedger;
function history(): OpenMetricsHistory {
  const h = new OpenMetricsHistory({ start: START, end: END, step: 30 });
  const canaryShare = (t: number) => (t > s(RAMP) ? 0.5 : 0.1);
  ledger = twoTrackTraffic(h, {
    app: 'api',
    seed: 2,
    canary: { rate: (t) => 200 * canaryShare(t), errorRate: 0.01 },
    stable: { rate: (t) => 200 * (1 - canaryShare(t)), errorRate: 0.005 },
  });
  return h;
}

const ABSOLUTE = judgesSpec(errorRateMetric(0.02), '{ interval: 30s, consecutive: 2 }');

const sequential = (guard: string) => judgesSpec(errorsVsStableMetric(`\n      alpha: ${ALPHA}\n      tolerance: ${TOLERANCE * 100}%`), guard);
const SEQUENTIAL_UNGUARDED = sequential('{ metrics: [] }');
const SEQUENTIAL_GUARDED = sequential(`{ interval: ${GUARD_INTERVAL / SEC}s, consecutive: 2 }`);

let prom: RunningPrometheus;
beforeAll(async () => {
  prom = await startWithHistory('judges-regression', history());
});
afterAll(() => prom?.stop());

describe('a fixed absolute threshold', () => {
  let sim: SimulationResult;
  let run: StandaloneRun;
  beforeAll(async () => {
    [sim, run] = await Promise.all([simulateOn(prom, 'api', ABSOLUTE, T0, T0 + 3 * HOUR), runStandalone(prom, 'api', ABSOLUTE, T0, T0 + 3 * HOUR)]);
  });

  it('passes the x2 regression: every checkpoint near 1%, under max 2%; the rollout completes', () => {
    expect(decisions(sim.records)).toEqual(['lifecycle:start@canary', 'checkpoint:continue@canary', 'checkpoint:advance@canary', 'checkpoint:complete@ramp']);
    for (const r of sim.records.slice(1)) {
      const due = Date.parse(r.checkpoint!.due);
      const m = metric(r, 'error-rate');
      expect(m.value!).toBeCloseTo(ratioOf(ledger, 'canary', due, due - Date.parse(r.checkpoint!.from!)), 12);
      expect(m.value!).toBeGreaterThan(0.008);
      expect(m).toMatchObject({ verdict: 'pass', max: 0.02 });
    }
    expect(sim.exitCode).toBe(0);
  });

  it('rollgate run journals the same records', () => {
    expect(comparable(run.records)).toEqual(comparable(sim.records));
    expect(run.state.status).toBe('complete');
  });
});

describe('the sequential test without a guard', () => {
  let sim: SimulationResult;
  let run: StandaloneRun;
  beforeAll(async () => {
    [sim, run] = await Promise.all([simulateOn(prom, 'api', SEQUENTIAL_UNGUARDED, T0, T0 + 3 * HOUR), runStandalone(prom, 'api', SEQUENTIAL_UNGUARDED, T0, T0 + 3 * HOUR)]);
  });

  it("rolls back at the canary phase's first checkpoint, e >= 1/alpha over the phase's counts", () => {
    expect(decisions(sim.records)).toEqual(['lifecycle:start@canary', 'checkpoint:rollback@canary']);
    const rb = sim.records[1]!;
    expect(rb.at).toBe(iso(T0 + 30 * MIN));
    expect(rb.checkpoint).toMatchObject({ index: 1, of: 2, from: iso(T0), due: iso(T0 + 30 * MIN) });
    const m = metric(rb, 'errors-vs-stable');
    expect(m.verdict).toBe('fail');
    expect(m.e!).toBeGreaterThanOrEqual(m.threshold!);
    expectSequentialNumbers(m, phaseCounts(ledger, T0, T0 + 30 * MIN), { alpha: ALPHA, tolerance: TOLERANCE });
    expect(m.ratio!).toBeGreaterThan(1.5);
    expect(sim.exitCode).toBe(10);
  });

  it('rollgate run journals the same rollback', () => {
    expect(comparable(run.records)).toEqual(comparable(sim.records));
    expect(run.split).toEqual({ stable: 100, canary: 0, mirror: 0 });
  });
});

describe('the sequential test on the guard', () => {
  let sim: SimulationResult;
  let run: StandaloneRun;
  // The first guard tick of the canary phase at which the phase's counts give e >= 1/alpha.
  let firstTick: number;
  beforeAll(async () => {
    firstTick = T0 + GUARD_INTERVAL;
    while (logEByIntegral(phaseCounts(ledger, T0, firstTick), TOLERANCE) < Math.log(1 / ALPHA)) firstTick += GUARD_INTERVAL;
    console.info(`[judges-regression] e reaches 1/alpha at the guard tick ${(firstTick - T0) / GUARD_INTERVAL} (${(firstTick - T0) / MIN} min into the phase)`);
    [sim, run] = await Promise.all([simulateOn(prom, 'api', SEQUENTIAL_GUARDED, T0, T0 + 3 * HOUR), runStandalone(prom, 'api', SEQUENTIAL_GUARDED, T0, T0 + 3 * HOUR)]);
  });

  it('rolls back at the first guard tick whose e-value reaches 1/alpha, before the first checkpoint', () => {
    expect(firstTick).toBeLessThan(T0 + 30 * MIN);
    expect(decisions(sim.records)).toEqual(['lifecycle:start@canary', 'guard:rollback@canary']);
    const rb = sim.records[1]!;
    expect(rb.at).toBe(iso(firstTick));
    const m = metric(rb, 'errors-vs-stable');
    expect(m.verdict).toBe('fail');
    expect(m.e!).toBeGreaterThanOrEqual(100);
    expectSequentialNumbers(m, phaseCounts(ledger, T0, firstTick), { alpha: ALPHA, tolerance: TOLERANCE });
    expect(sim.exitCode).toBe(10);
    expectGaplessSeq(sim.records);
  });

  it('rollgate run journals the same rollback', () => {
    expect(comparable(run.records)).toEqual(comparable(sim.records));
    expect(run.split).toEqual({ stable: 100, canary: 0, mirror: 0 });
  });
});
