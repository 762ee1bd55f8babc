/**
 * Judges scenario (a) against a real Prometheus: a global incident. A dependency fails for
 * everyone, so both tracks' error rate goes from 1% to 5% for 10 minutes of the canary phase.
 * - A fixed absolute threshold (max 2%) rolls the healthy canary back: the guard sees 5%.
 * - The same rollout judged against the stable track passes: with a relative bound
 *   (tolerance 20%, slack 0.005; an absolute max of 50% for a broken canary) and with the
 *   sequential test (alpha 0.01, tolerance 10%), both guarded, it completes on schedule.
 * Each through `simulate` and through `rollgate run` on a VirtualClock; the records' numbers
 * are checked against the counts the history holds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenMetricsHistory, between } from '../helpers/openmetrics.js';
import type { RunningPrometheus } from '../helpers/prometheus.js';
import { twoTrackTraffic, type TwoTrackLedger } from '../helpers/two-track-history.js';
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
  provider,
  runStandalone,
  simulateOn,
  startWithHistory,
  type StandaloneRun,
} from './scenario-helpers.js';
import { errorRateMetric, errorRatio, errorsVsStableMetric, expectSequentialNumbers, judgesSpec, phaseCounts, ratioOf, requestCount } from './scenario-judges-helpers.js';

const END = historyEnd();
const START = END - 3 * 3600;
const T0 = (START + 1800) * 1000; // the rollout starts (10% canary) on a sample instant
const RAMP = T0 + HOUR; // 50% canary, when the canary phase passes
const s = (ms: number) => ms / 1000;
const INCIDENT = { from: T0 + 40 * MIN, to: T0 + 50 * MIN };

let ledger: TwoTrackLedger;
function history(): OpenMetricsHistory {
  const h = new OpenMetricsHistory({ start: START, end: END, step: 30 });
  // 200 requests/s split by the plan's weights; 1% errors, 5% for everyone during the incident.
  const canaryShare = (t: number) => (t > s(RAMP) ? 0.5 : 0.1);
  const errorRate = between(s(INCIDENT.from), s(INCIDENT.to), 0.05, 0.01);
  ledger = twoTrackTraffic(h, {
    app: 'api',
    seed: 1,
    canary: { rate: (t) => 200 * canaryShare(t), errorRate },
    stable: { rate: (t) => 200 * (1 - canaryShare(t)), errorRate },
  });
  return h;
}

const ABSOLUTE = judgesSpec(errorRateMetric(0.02), '{ interval: 1m, consecutive: 2 }');

const RELATIVE = judgesSpec(
  `
    - name: errors-vs-stable
      query: '${errorRatio('canary')}'
      baseline: '${errorRatio('stable')}'
      tolerance: 20%
      slack: 0.005
      max: 0.5
      critical: true`,
  '{ interval: 1m, consecutive: 2, window: 5m }',
);

const SEQUENTIAL = judgesSpec(errorsVsStableMetric('\n      alpha: 0.01\n      tolerance: 10%'), '{ interval: 1m, consecutive: 2 }');

const COMPLETES = ['lifecycle:start@canary', 'checkpoint:continue@canary', 'checkpoint:advance@canary', 'checkpoint:complete@ramp'];

let prom: RunningPrometheus;
beforeAll(async () => {
  prom = await startWithHistory('judges-incident', history());
});
afterAll(() => prom?.stop());

it('Prometheus holds the counts the ledger predicts (exact on sample instants, extrapolated between)', async () => {
  const p = provider(prom);
  for (const [at, w] of [
    [T0 + HOUR, HOUR],
    [INCIDENT.from + 45_000, 5 * MIN],
  ] as const) {
    const answer = await p.instant(requestCount('canary').replaceAll('{{app}}', 'api').replace('{{window}}', `${w / 1000}s`), at);
    expect(answer.value).toBeCloseTo(ledger.increase('canary', 'total', at, w)!, 6);
  }
});

describe('a fixed absolute threshold', () => {
  let sim: SimulationResult;
  let run: StandaloneRun;
  beforeAll(async () => {
    [sim, run] = await Promise.all([simulateOn(prom, 'api', ABSOLUTE, T0, T0 + 3 * HOUR), runStandalone(prom, 'api', ABSOLUTE, T0, T0 + 3 * HOUR)]);
  });

  it('rolls the healthy canary back during the incident (guard, two 1m evaluations above 2%)', () => {
    expect(decisions(sim.records)).toEqual(['lifecycle:start@canary', 'checkpoint:continue@canary', 'guard:rollback@canary']);
    const rb = sim.records[2]!;
    const at = Date.parse(rb.at);
    expect(at).toBeGreaterThan(INCIDENT.from);
    expect(at).toBeLessThanOrEqual(INCIDENT.from + 2 * MIN);
    const m = metric(rb, 'error-rate');
    expect(m).toMatchObject({ verdict: 'fail', max: 0.02 });
    expect(m.value!).toBeCloseTo(ratioOf(ledger, 'canary', at, MIN), 12);
    expect(sim.exitCode).toBe(10);
  });

  it('rollgate run journals the same rollback', () => {
    expect(comparable(run.records)).toEqual(comparable(sim.records));
    expect(run.split).toEqual({ stable: 100, canary: 0, mirror: 0 });
  });
});

describe('a relative bound against the stable track', () => {
  let sim: SimulationResult;
  let run: StandaloneRun;
  beforeAll(async () => {
    [sim, run] = await Promise.all([simulateOn(prom, 'api', RELATIVE, T0, T0 + 3 * HOUR), runStandalone(prom, 'api', RELATIVE, T0, T0 + 3 * HOUR)]);
  });

  it('rides out the incident: the guard holds, every checkpoint passes, the rollout completes', () => {
    expect(decisions(sim.records)).toEqual(COMPLETES);
    expect(sim.records.at(-1)!.at).toBe(iso(RAMP + 30 * MIN));
    expect(sim.exitCode).toBe(0);
    expectGaplessSeq(sim.records);
    expectCheckpointsCoverPhases(sim.records);
  });

  it('each checkpoint records the baseline, the bound that applied and the ratio', () => {
    for (const r of sim.records.slice(1)) {
      const due = Date.parse(r.checkpoint!.due);
      const w = due - Date.parse(r.checkpoint!.from!);
      const m = metric(r, 'errors-vs-stable');
      const canary = ratioOf(ledger, 'canary', due, w);
      const stable = ratioOf(ledger, 'stable', due, w);
      expect(m.verdict).toBe('pass');
      expect(m.value!).toBeCloseTo(canary, 12);
      expect(m.baseline!).toBeCloseTo(stable, 12);
      expect(m.bound!).toBeCloseTo(Math.max(stable * 1.2, stable + 0.005), 12);
      expect(m.ratio!).toBeCloseTo(canary / stable, 9);
      expect(m).toMatchObject({ tolerance: 0.2, slack: 0.005, max: 0.5 });
    }
    // The window with the incident: both tracks near 2.3%, far above the absolute plan's 2%.
    const incident = metric(sim.records[2], 'errors-vs-stable');
    expect(incident.value!).toBeGreaterThan(0.02);
    expect(incident.baseline!).toBeGreaterThan(0.02);
  });

  it('rollgate run journals the same records and ends at the last phase split', () => {
    expect(comparable(run.records)).toEqual(comparable(sim.records));
    expect(run.split).toEqual({ stable: 50, canary: 50, mirror: 0 });
    expect(run.state.status).toBe('complete');
  });
});

describe('the sequential test against the stable track', () => {
  let sim: SimulationResult;
  let run: StandaloneRun;
  beforeAll(async () => {
    [sim, run] = await Promise.all([simulateOn(prom, 'api', SEQUENTIAL, T0, T0 + 3 * HOUR), runStandalone(prom, 'api', SEQUENTIAL, T0, T0 + 3 * HOUR)]);
  });

  it('rides out the incident: no guard rollback, every checkpoint passes, the rollout completes', () => {
    expect(decisions(sim.records)).toEqual(COMPLETES);
    expect(sim.exitCode).toBe(0);
    expectGaplessSeq(sim.records);
  });

  it("each checkpoint records the phase's cumulative counts since its split, both rates, e < 1/alpha", () => {
    const [, first, second, last] = sim.records;
    expectSequentialNumbers(metric(first, 'errors-vs-stable'), phaseCounts(ledger, T0, T0 + 30 * MIN), { alpha: 0.01, tolerance: 0.1 });
    expectSequentialNumbers(metric(second, 'errors-vs-stable'), phaseCounts(ledger, T0, RAMP), { alpha: 0.01, tolerance: 0.1 });
    // The ramp's e-process starts afresh at its split.
    expectSequentialNumbers(metric(last, 'errors-vs-stable'), phaseCounts(ledger, RAMP, RAMP + 30 * MIN), { alpha: 0.01, tolerance: 0.1 });
    for (const r of [first, second, last]) {
      const m = metric(r, 'errors-vs-stable');
      expect(m.verdict).toBe('pass');
      expect(m.e!).toBeLessThan(100);
    }
    // The phase through the incident: 20 canary requests/s for an hour.
    expect(metric(second, 'errors-vs-stable')).toMatchObject({ n_c: expect.closeTo(72_000, -4) as number });
  });

  it('rollgate run journals the same records', () => {
    expect(comparable(run.records)).toEqual(comparable(sim.records));
    expect(run.state.status).toBe('complete');
  });
});
