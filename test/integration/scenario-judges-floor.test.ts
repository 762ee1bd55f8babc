/**
 * Judges scenario (c) against a real Prometheus: a canary with too little traffic. At night a
 * 5% canary gets 0.04 requests/s (about 36 in a 15-minute checkpoint window).
 * - Without a traffic floor, the absolute threshold passes its checkpoints on a few dozen
 *   requests and the rollout advances on evidence it does not have.
 * - With `samples` + `minSamples: 500` on the same metric, and with the sequential test (its
 *   default floor: 100 canary requests in the phase), every checkpoint is nodata: hold, judged
 *   again after retryInterval, then pause at inconclusiveLimit; never pass, never roll back
 *   (the guard watches both metrics and is nodata below the floor too). The records carry the
 *   sample count and the reason.
 * Each through `simulate` and through `rollgate run` on a VirtualClock.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenMetricsHistory } from '../helpers/openmetrics.js';
import type { RunningPrometheus } from '../helpers/prometheus.js';
import { twoTrackTraffic, type TwoTrackLedger } from '../helpers/two-track-history.js';
import type { SimulationResult } from '../../src/host/simulate.js';
import type { DecisionRecord } from '../../src/core/record.js';
import { comparable, decisions, expectGaplessSeq, historyEnd, HOUR, iso, metric, MIN, runStandalone, simulateOn, startWithHistory, type StandaloneRun } from './scenario-helpers.js';
import { errorRateMetric, errorsVsStableMetric, judgesSpec, phaseCounts, requestCount } from './scenario-judges-helpers.js';

const END = historyEnd();
const START = END - 3 * 3600;
const T0 = (START + 1800) * 1000;

let ledger: TwoTrackLedger;
function history(): OpenMetricsHistory {
  const h = new OpenMetricsHistory({ start: START, end: END, step: 30 });
  ledger = twoTrackTraffic(h, { app: 'api', seed: 3, canary: { rate: 0.04, errorRate: 0.01 }, stable: { rate: 0.76, errorRate: 0.01 } });
  return h;
}

const REST = `
  analysis: { retryInterval: 5m, inconclusiveLimit: 2 }
  phases:
    - { name: canary, weight: 5, checkpoints: [15m, 30m] }
    - { name: ramp, weight: 50, checkpoints: [30m] }
`;

const UNFLOORED = judgesSpec(errorRateMetric(0.02), '{ metrics: [] }', REST);
const FLOORED = judgesSpec(errorRateMetric(0.02, `\n      samples: '${requestCount('canary')}'\n      minSamples: 500`), '{ interval: 30s, consecutive: 1 }', REST);
const SEQUENTIAL = judgesSpec(errorsVsStableMetric(), '{ interval: 30s, consecutive: 1 }', REST);

const HELD = ['lifecycle:start@canary', 'checkpoint:hold@canary', 'checkpoint:hold@canary', 'checkpoint:pause@canary'];

/** Held at the first checkpoint, judged again every 5m over the growing span, paused at the third attempt. */
function expectHeldThenPaused(sim: SimulationResult): DecisionRecord[] {
  expect(decisions(sim.records)).toEqual(HELD);
  const [, h1, h2, p] = sim.records;
  expect(h1!.checkpoint).toMatchObject({ from: iso(T0), due: iso(T0 + 15 * MIN), attempt: 1 });
  expect(h2!.checkpoint).toMatchObject({ from: iso(T0), due: iso(T0 + 20 * MIN), attempt: 2 });
  expect(p!.checkpoint).toMatchObject({ from: iso(T0), due: iso(T0 + 25 * MIN), attempt: 3 });
  expect(p!.weight).toEqual({ from: 5, to: 5 });
  expect(sim.state.status).toBe('paused');
  expect(sim.exitCode).toBe(11);
  expectGaplessSeq(sim.records);
  return [h1!, h2!, p!];
}

let prom: RunningPrometheus;
beforeAll(async () => {
  prom = await startWithHistory('judges-floor', history());
});
afterAll(() => prom?.stop());

describe('without a traffic floor', () => {
  it('the absolute threshold passes on a few dozen requests and the rollout advances', async () => {
    const sim = await simulateOn(prom, 'api', UNFLOORED, T0, T0 + 30 * MIN);
    expect(decisions(sim.records)).toEqual(['lifecycle:start@canary', 'checkpoint:continue@canary', 'checkpoint:advance@canary']);
    const m = metric(sim.records[1], 'error-rate');
    expect(m.verdict).toBe('pass');
    expect(ledger.increase('canary', 'total', T0 + 15 * MIN, 15 * MIN)!).toBeLessThan(60);
  });
});

describe('samples + minSamples on the absolute metric', () => {
  let sim: SimulationResult;
  let run: StandaloneRun;
  beforeAll(async () => {
    [sim, run] = await Promise.all([simulateOn(prom, 'api', FLOORED, T0, T0 + 3 * HOUR), runStandalone(prom, 'api', FLOORED, T0, T0 + 3 * HOUR)]);
  });

  it('holds, then pauses at inconclusiveLimit: never passes, never rolls back', () => {
    expectHeldThenPaused(sim);
    expect(sim.records.some((r) => r.kind === 'guard')).toBe(false);
  });

  it("records the window's request count, the floor and the reason", () => {
    for (const r of sim.records.slice(1)) {
      const due = Date.parse(r.checkpoint!.due);
      const n = ledger.increase('canary', 'total', due, due - T0)!;
      expect(n).toBeLessThan(500);
      const m = metric(r, 'error-rate');
      expect(m).toMatchObject({ verdict: 'nodata', samples: n, minSamples: 500, reason: `${n} samples in the window, 500 needed` });
    }
  });

  it('rollgate run journals the same holds and pause, keeping the split at 5%', () => {
    expect(comparable(run.records)).toEqual(comparable(sim.records));
    expect(run.state.status).toBe('paused');
    expect(run.split).toEqual({ stable: 95, canary: 5, mirror: 0 });
  });
});

describe("the sequential test's default floor (100 canary requests in the phase)", () => {
  let sim: SimulationResult;
  let run: StandaloneRun;
  beforeAll(async () => {
    [sim, run] = await Promise.all([simulateOn(prom, 'api', SEQUENTIAL, T0, T0 + 3 * HOUR), runStandalone(prom, 'api', SEQUENTIAL, T0, T0 + 3 * HOUR)]);
  });

  it('holds, then pauses at inconclusiveLimit: never passes, never rolls back', () => {
    expectHeldThenPaused(sim);
    expect(sim.records.some((r) => r.kind === 'guard')).toBe(false);
  });

  it("records the phase's counts, the floor and the reason", () => {
    for (const r of sim.records.slice(1)) {
      const counts = phaseCounts(ledger, T0, Date.parse(r.checkpoint!.due));
      expect(counts.n_c).toBeLessThan(100);
      const m = metric(r, 'errors-vs-stable');
      expect(m).toMatchObject({ test: 'sequential', verdict: 'nodata', ...counts, minSamples: 100, reason: `${counts.n_c} canary requests in the phase, 100 needed` });
    }
  });

  it('rollgate run journals the same holds and pause', () => {
    expect(comparable(run.records)).toEqual(comparable(sim.records));
    expect(run.state.status).toBe('paused');
  });
});
