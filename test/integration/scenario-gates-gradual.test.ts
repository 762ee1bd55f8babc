/**
 * Scenarios 8 and 9 against a real Prometheus:
 * - `spec.startAt` and a deployment window delay a split to the exact instant: a `wait` record,
 *   then an `advance` of kind `wait` whose `at` is that instant;
 * - a gradual rollback steps down through the configured weights, `stepInterval` apart.
 * Through `simulate` and through `rollgate run` on a VirtualClock.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenMetricsHistory, between } from '../helpers/openmetrics.js';
import type { RunningPrometheus } from '../helpers/prometheus.js';
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
const START = END - 4 * 3600;
const T0 = (START + 1800) * 1000; // on a quarter hour
const s = (ms: number) => ms / 1000;
const SPIKE = { from: T0 + 50 * MIN, to: T0 + 60 * MIN }; // errors of app `falling`

function history(): OpenMetricsHistory {
  const h = new OpenMetricsHistory({ start: START, end: END, step: 30 });
  h.counter('http_requests_total', { app: 'steady', track: 'canary', code: '200' }, 10).counter('http_requests_total', { app: 'steady', track: 'canary', code: '500' }, 0.01);
  h.counter('http_requests_total', { app: 'falling', track: 'canary', code: '200' }, 10).counter(
    'http_requests_total',
    { app: 'falling', track: 'canary', code: '500' },
    between(s(SPIKE.from), s(SPIKE.to), 3, 0.01),
  );
  return h;
}

const metrics = (app: string) => `
  vars: { app: ${app} }
  metrics:
    - name: error-rate
      query: |
        sum(rate(http_requests_total{app="{{app}}",track="canary",code=~"5.."}[{{window}}]))
          / sum(rate(http_requests_total{app="{{app}}",track="canary"}[{{window}}]))
      max: 0.005
      critical: true`;

/** "HH:MM" in UTC of an instant. */
const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);

let prom: RunningPrometheus;
beforeAll(async () => {
  prom = await startWithHistory('gates-gradual', history());
});
afterAll(() => prom?.stop());

describe('startAt delays the first split to the exact instant', () => {
  const START_AT = T0 + 45 * MIN;
  const SPEC = `${metrics('steady')}
  startAt: "${iso(START_AT)}"
  guard: { interval: 1m }
  phases:
    - { name: canary, weight: 10, checkpoints: [30m] }
    - { name: full, weight: 100, checkpoints: [30m] }
`;
  const EXPECTED = ['lifecycle:start@canary', 'wait:wait@canary', 'wait:advance@canary', 'checkpoint:advance@canary', 'checkpoint:complete@full'];

  it('simulate: start keeps 0%, wait (startAt), then an advance of kind wait at exactly startAt', async () => {
    const sim = await simulateOn(prom, 'steady', SPEC, T0, T0 + 3 * HOUR);
    expect(decisions(sim.records)).toEqual(EXPECTED);
    const [start, wait, advance, first] = sim.records;
    expect(start).toMatchObject({ at: iso(T0), weight: { from: 0, to: 0 } });
    expect(wait).toMatchObject({ at: iso(T0), waitingFor: 'startAt', next: { at: iso(START_AT) }, weight: { from: 0, to: 0 } });
    expect(advance).toMatchObject({ kind: 'wait', decision: 'advance', at: iso(START_AT), weight: { from: 0, to: 10 } });
    expect(first!.checkpoint).toMatchObject({ from: iso(START_AT), due: iso(START_AT + 30 * MIN) });
    expect(metric(first, 'error-rate').value).toBeCloseTo(0.01 / 10.01, 12);
    expect(sim.exitCode).toBe(0);
    expectCheckpointsCoverPhases(sim.records);
  });

  it('rollgate run applies the first split only at startAt and journals the same records', async () => {
    const [run, sim] = await Promise.all([runStandalone(prom, 'steady', SPEC, T0, T0 + 3 * HOUR), simulateOn(prom, 'steady', SPEC, T0, T0 + 3 * HOUR)]);
    expect(comparable(run.records)).toEqual(comparable(sim.records));
    expect(run.applied.map((a) => [a.applied, a.weight, a.at])).toEqual([
      [3, 10, iso(START_AT)],
      [4, 100, iso(START_AT + 30 * MIN)],
    ]);
    expect(run.split).toEqual({ stable: 0, canary: 100, mirror: 0 });
  });
});

describe('a deployment window delays the next phase to the instant it opens', () => {
  const OPENS = T0 + 2 * HOUR;
  // Open now until T0+45m; closed when the canary passes at T0+1h; opens again at T0+2h.
  const SPEC = `${metrics('steady')}
  windows:
    - { start: "${hhmm(T0 - HOUR)}", end: "${hhmm(T0 + 45 * MIN)}", timezone: UTC }
    - { start: "${hhmm(OPENS)}", end: "${hhmm(OPENS + HOUR)}", timezone: UTC }
  guard: { interval: 1m }
  phases:
    - { name: canary, weight: 10, checkpoints: [1h] }
    - { name: full, weight: 100, checkpoints: [30m] }
`;

  it('the canary passes outside the window: wait, then advance of kind wait at exactly the opening', async () => {
    const sim = await simulateOn(prom, 'steady', SPEC, T0, T0 + 4 * HOUR);
    expect(decisions(sim.records)).toEqual(['lifecycle:start@canary', 'checkpoint:wait@canary', 'wait:advance@full', 'checkpoint:complete@full']);
    const [start, wait, advance, done] = sim.records;
    expect(start).toMatchObject({ at: iso(T0), weight: { from: 0, to: 10 } });
    expect(wait).toMatchObject({ kind: 'checkpoint', at: iso(T0 + HOUR), waitingFor: 'window', next: { at: iso(OPENS) }, weight: { from: 10, to: 10 } });
    expect(advance).toMatchObject({ kind: 'wait', decision: 'advance', at: iso(OPENS), weight: { from: 10, to: 100 } });
    expect(done!.checkpoint).toMatchObject({ from: iso(OPENS), due: iso(OPENS + 30 * MIN) });
    expect(sim.exitCode).toBe(0);
  });

  it('rollgate run waits for the same instant', async () => {
    const [run, sim] = await Promise.all([runStandalone(prom, 'steady', SPEC, T0, T0 + 4 * HOUR), simulateOn(prom, 'steady', SPEC, T0, T0 + 4 * HOUR)]);
    expect(comparable(run.records)).toEqual(comparable(sim.records));
    expect(run.applied.map((a) => a.at)).toEqual([iso(T0), iso(OPENS)]);
  });
});

describe('a gradual rollback steps down on time', () => {
  const SPEC = `${metrics('falling')}
  guard: { interval: 15s, consecutive: 2 }
  rollback: { strategy: gradual, steps: [90, 50, 25, 0], stepInterval: 2m }
  phases:
    - { name: canary, weight: 10, checkpoints: [30m] }
    - { name: ramp, weight: 80, checkpoints: [1h] }
`;

  it('one guard record per configured step below the current weight, stepInterval apart, ending at 0', async () => {
    const sim = await simulateOn(prom, 'falling', SPEC, T0, T0 + 3 * HOUR);
    expect(decisions(sim.records)).toEqual(['lifecycle:start@canary', 'checkpoint:advance@canary', 'guard:rollback@ramp', 'guard:rollback@ramp', 'guard:rollback@ramp']);
    const steps = sim.records.slice(2);
    expect(steps.map((r) => [r.weight.from, r.weight.to])).toEqual([
      [80, 50],
      [50, 25],
      [25, 0],
    ]);
    const first = Date.parse(steps[0]!.at);
    expect(first).toBeGreaterThan(SPIKE.from);
    expect(first).toBeLessThanOrEqual(SPIKE.from + 2 * 15 * SEC + MIN);
    expect(steps.map((r) => Date.parse(r.at) - first)).toEqual([0, 2 * MIN, 4 * MIN]);
    expect(steps[0]!.next).toEqual({ what: 'rollback step to 25%', at: iso(first + 2 * MIN) });
    expect(metric(steps[0], 'error-rate').value!).toBeGreaterThan(0.005);
    expect(sim.state.status).toBe('rolled-back');
    expect(sim.exitCode).toBe(10);
    expectGaplessSeq(sim.records);
  });

  it('rollgate run applies 50%, 25%, 0% in turn and leaves the file router at 0%', async () => {
    const [run, sim] = await Promise.all([runStandalone(prom, 'falling', SPEC, T0, T0 + 3 * HOUR), simulateOn(prom, 'falling', SPEC, T0, T0 + 3 * HOUR)]);
    expect(comparable(run.records)).toEqual(comparable(sim.records));
    expect(run.applied.map((a) => a.weight)).toEqual([10, 80, 50, 25, 0]);
    expect(run.applied.slice(2).map((a) => a.at)).toEqual(sim.records.slice(2).map((r) => r.at));
    expect(run.split).toEqual({ stable: 100, canary: 0, mirror: 0 });
  });
});
