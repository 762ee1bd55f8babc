/**
 * Scenarios 2 and 3 against a real Prometheus: an error spike during the 50% ramp.
 * With the guard on, it is rolled back between checkpoints (kind `guard`) within
 * `interval x consecutive` + the guard window of the spike's start; with the guard off
 * (`guard: { metrics: [] }`), the ramp's next checkpoint rolls it back (kind `checkpoint`).
 * Both through `simulate` and through `rollgate run` on a VirtualClock.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenMetricsHistory, between } from '../helpers/openmetrics.js';
import type { RunningPrometheus } from '../helpers/prometheus.js';
import type { SimulationResult } from '../../src/host/simulate.js';
import {
  comparable,
  decisions,
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
  type StandaloneRun,
} from './scenario-helpers.js';

const END = historyEnd();
const START = END - 3 * 3600;
const T0 = (START + 1800) * 1000;
// 2 errors/s (of 12 requests/s) from 50 to 55 minutes after the start, 0.02/s otherwise.
const SPIKE_FROM = T0 + 50 * MIN;
const SPIKE_TO = T0 + 55 * MIN;

function history(): OpenMetricsHistory {
  const app = { app: 'api', track: 'canary' };
  return new OpenMetricsHistory({ start: START, end: END, step: 15 })
    .counter('http_requests_total', { ...app, code: '200' }, 10)
    .counter('http_requests_total', { ...app, code: '500' }, between(SPIKE_FROM / 1000, SPIKE_TO / 1000, 2, 0.02));
}

const INTERVAL = 15 * SEC;
const CONSECUTIVE = 2;
const GUARD_WINDOW = 1 * MIN; // default: max(interval, 1m)

const spec = (guard: string) => `
  vars: { app: api }
  metrics:
    - name: error-rate
      query: |
        sum(rate(http_requests_total{app="{{app}}",track="canary",code=~"5.."}[{{window}}]))
          / sum(rate(http_requests_total{app="{{app}}",track="canary"}[{{window}}]))
      max: 0.01
      critical: true
  guard: ${guard}
  phases:
    - { name: canary, weight: 10, checkpoints: [15m, 30m] }
    - { name: ramp, weight: 50, checkpoints: [30m] }
    - { name: full, weight: 100, checkpoints: [1h] }
`;
const GUARDED = spec('{ interval: 15s, consecutive: 2 }');
const UNGUARDED = spec('{ metrics: [] }');

let prom: RunningPrometheus;
beforeAll(async () => {
  prom = await startWithHistory('error-spike', history());
});
afterAll(() => prom?.stop());

describe('an error spike with the guard on', () => {
  let sim: SimulationResult;
  let run: StandaloneRun;
  beforeAll(async () => {
    [sim, run] = await Promise.all([simulateOn(prom, 'api', GUARDED, T0, T0 + 3 * HOUR), runStandalone(prom, 'api', GUARDED, T0, T0 + 3 * HOUR)]);
  });

  it('is rolled back by the guard (kind guard), from 50% to 0, exit 10', () => {
    expect(decisions(sim.records)).toEqual(['lifecycle:start@canary', 'checkpoint:continue@canary', 'checkpoint:advance@canary', 'guard:rollback@ramp']);
    expect(sim.records[3]!.weight).toEqual({ from: 50, to: 0 });
    expect(sim.exitCode).toBe(10);
    expect(sim.state.status).toBe('rolled-back');
    expectGaplessSeq(sim.records);
  });

  it('an error spike is rolled back by the guard within interval × consecutive + window of the spike start', () => {
    const at = Date.parse(sim.records[3]!.at);
    expect(at).toBeGreaterThan(SPIKE_FROM);
    expect(at).toBeLessThanOrEqual(SPIKE_FROM + INTERVAL * CONSECUTIVE + GUARD_WINDOW);
    // Guard ticks run every 15 s from the ramp's split (T0 + 30m).
    expect((at - (T0 + 30 * MIN)) % INTERVAL).toBe(0);
  });

  it('records the real ratio over the guard window, above the threshold', () => {
    const rb = sim.records[3]!;
    const m = metric(rb, 'error-rate');
    expect(m.verdict).toBe('fail');
    expect(m.value!).toBeGreaterThan(0.01);
    expect(m.value!).toBeLessThanOrEqual(2 / 12 + 1e-9); // never more than the spike's own ratio
    expect(m.query).toContain('[1m]');
    expect(rb.reason).toMatch(/guard: error-rate.*2 consecutive/);
  });

  it('rollgate run journals the same guard rollback and the file router ends at 0% canary', () => {
    expect(comparable(run.records)).toEqual(comparable(sim.records));
    expect(run.applied.at(-1)).toMatchObject({ applied: 4, weight: 0, mirror: 0 });
    expect(run.split).toEqual({ stable: 100, canary: 0, mirror: 0 });
    expect(run.state.status).toBe('rolled-back');
  });
});

describe('the same spike with the guard switched off', () => {
  let sim: SimulationResult;
  let run: StandaloneRun;
  beforeAll(async () => {
    [sim, run] = await Promise.all([simulateOn(prom, 'api', UNGUARDED, T0, T0 + 3 * HOUR), runStandalone(prom, 'api', UNGUARDED, T0, T0 + 3 * HOUR)]);
  });

  it('is rolled back at the next checkpoint (kind checkpoint), at its due time', () => {
    expect(decisions(sim.records)).toEqual(['lifecycle:start@canary', 'checkpoint:continue@canary', 'checkpoint:advance@canary', 'checkpoint:rollback@ramp']);
    const rb = sim.records[3]!;
    expect(rb.at).toBe(iso(T0 + 60 * MIN));
    expect(rb.checkpoint).toMatchObject({ index: 1, of: 1, from: iso(T0 + 30 * MIN), due: iso(T0 + 60 * MIN), window: '30m' });
    expect(rb.weight).toEqual({ from: 50, to: 0 });
    expect(sim.exitCode).toBe(10);
  });

  it('judges the spike diluted over the whole 30m window: still above max', () => {
    const m = metric(sim.records[3], 'error-rate');
    // 5 min at 2/s and 25 min at 0.02/s of errors, 10/s of successes.
    const errors = (5 * 2 + 25 * 0.02) / 30;
    expect(m.value!).toBeCloseTo(errors / (10 + errors), 3);
    expect(m).toMatchObject({ verdict: 'fail', max: 0.01 });
  });

  it('rollgate run journals the same checkpoint rollback and the file router ends at 0% canary', () => {
    expect(comparable(run.records)).toEqual(comparable(sim.records));
    expectGaplessSeq(run.records);
    expect(run.split).toEqual({ stable: 100, canary: 0, mirror: 0 });
  });
});
