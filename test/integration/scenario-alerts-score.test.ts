/**
 * Scenarios 6 and 7 against a real Prometheus:
 * - an `alerts:` metric counts the critical alerts firing at any moment of a checkpoint's window
 *   (ALERTS series as rule evaluation writes them): one that fires inside the window fails that
 *   checkpoint; one that stopped firing just before the window opened, a pending one and a
 *   warning do not;
 * - a score between caution and pass (real values giving exactly 90 with pass 95 / caution 90)
 *   continues at intermediate checkpoints and, at a phase's last one, does what `onCaution` says.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenMetricsHistory, exponentialLatency } from '../helpers/openmetrics.js';
import type { RunningPrometheus } from '../helpers/prometheus.js';
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
  simulateOn,
  startWithHistory,
} from './scenario-helpers.js';

const END = historyEnd();
const START = END - 3 * 3600;
const T0 = (START + 1800) * 1000;
const s = (ms: number) => ms / 1000;

// Alerts of app `shop` (epoch ms).
const OLD_INCIDENT = { from: T0 - 20 * MIN, until: T0 }; // last firing sample 15 s before the rollout starts
const NEW_INCIDENT = { from: T0 + 40 * MIN, until: T0 + 41 * MIN }; // one minute inside checkpoint 2's window

function history(): OpenMetricsHistory {
  const h = new OpenMetricsHistory({ start: START, end: END, step: 15 });
  for (const app of ['shop', 'cautious']) {
    h.counter('http_requests_total', { app, track: 'canary', code: '200' }, 10).counter('http_requests_total', { app, track: 'canary', code: '500' }, 0.01);
  }
  // `cautious` answers in 0.6 s on average: above its 0.5 s limit, while its errors pass.
  h.histogram('http_request_duration_seconds', { app: 'cautious', track: 'canary' }, { rate: 10, latency: exponentialLatency(0.6) });
  return h
    .alert('CanaryDown', { severity: 'critical', app: 'shop' }, { pendingFrom: s(OLD_INCIDENT.from) - 120, firingFrom: s(OLD_INCIDENT.from), until: s(OLD_INCIDENT.until) })
    .alert('CanaryErrors', { severity: 'critical', app: 'shop' }, { pendingFrom: s(NEW_INCIDENT.from) - 60, firingFrom: s(NEW_INCIDENT.from), until: s(NEW_INCIDENT.until) })
    .alert('SlowDisk', { severity: 'critical', app: 'shop' }, { pendingFrom: s(T0 + 5 * MIN), firingFrom: END + 3600, until: END + 7200 }) // pending only
    .alert('QueueGrowing', { severity: 'warning', app: 'shop' }, { firingFrom: s(T0 + 5 * MIN), until: s(T0 + 25 * MIN) });
}

const ERROR_RATE = (weight: number) => `
    - name: error-rate
      query: |
        sum(rate(http_requests_total{app="{{app}}",track="canary",code=~"5.."}[{{window}}]))
          / sum(rate(http_requests_total{app="{{app}}",track="canary"}[{{window}}]))
      max: 0.005
      critical: true
      weight: ${weight}`;

const ALERTS_SPEC = `
  vars: { app: shop }
  metrics:${ERROR_RATE(1)}
    - name: critical-incidents
      alerts: 'severity="critical",app="{{app}}"'
      critical: true
  guard: { interval: 30s, metrics: [error-rate] }
  phases:
    - { name: canary, weight: 10, checkpoints: [30m, 1h] }
    - { name: full, weight: 100, checkpoints: [1h] }
`;

let prom: RunningPrometheus;
beforeAll(async () => {
  prom = await startWithHistory('alerts-score', history());
});
afterAll(() => prom?.stop());

describe('critical alerts judged over checkpoint windows', () => {
  it('an alert that stopped firing before the window, a pending one and a warning do not fail the checkpoint', async () => {
    const sim = await simulateOn(prom, 'shop', ALERTS_SPEC, T0, T0 + 3 * HOUR);
    const first = sim.records[1]!;
    expect(first).toMatchObject({ kind: 'checkpoint', decision: 'continue', checkpoint: { from: iso(T0), due: iso(T0 + 30 * MIN) } });
    expect(metric(first, 'critical-incidents')).toMatchObject({ value: 0, verdict: 'pass', max: 0 });
    expect(metric(first, 'critical-incidents').query).toBe('count(max_over_time(ALERTS{alertstate="firing",severity="critical",app="shop"}[30m])) or vector(0)');
  });

  it('a critical alert firing inside a checkpoint window fails that checkpoint (rollback, kind checkpoint)', async () => {
    const sim = await simulateOn(prom, 'shop', ALERTS_SPEC, T0, T0 + 3 * HOUR);
    expect(decisions(sim.records)).toEqual(['lifecycle:start@canary', 'checkpoint:continue@canary', 'checkpoint:rollback@canary']);
    const rb = sim.records[2]!;
    expect(rb.at).toBe(iso(T0 + HOUR));
    expect(rb.checkpoint).toMatchObject({ from: iso(T0 + 30 * MIN), due: iso(T0 + HOUR), window: '30m' });
    expect(metric(rb, 'critical-incidents')).toMatchObject({ value: 1, verdict: 'fail', critical: true });
    expect(metric(rb, 'error-rate').verdict).toBe('pass');
    expect(rb.reason).toContain('critical-incidents');
    expect(sim.exitCode).toBe(10);
  });

  it('rollgate run journals the same decisions and ends with the canary at 0%', async () => {
    const [run, sim] = await Promise.all([runStandalone(prom, 'shop', ALERTS_SPEC, T0, T0 + 3 * HOUR), simulateOn(prom, 'shop', ALERTS_SPEC, T0, T0 + 3 * HOUR)]);
    expect(comparable(run.records)).toEqual(comparable(sim.records));
    expect(run.split).toEqual({ stable: 100, canary: 0, mirror: 0 });
  });
});

const scoreSpec = (onCaution: 'hold' | 'advance') => `
  vars: { app: cautious }
  metrics:${ERROR_RATE(9)}
    - name: mean-response-time
      query: |
        sum(rate(http_request_duration_seconds_sum{app="{{app}}",track="canary"}[{{window}}]))
          / sum(rate(http_request_duration_seconds_count{app="{{app}}",track="canary"}[{{window}}]))
      max: 0.5
      weight: 1
  analysis:
    score: { pass: 95, caution: 90 }
    onCaution: ${onCaution}
    retryInterval: 5m
    inconclusiveLimit: 1
  guard: { interval: 30s }
  phases:
    - { name: soft, weight: 10, checkpoints: [15m, 30m] }
    - { name: full, weight: 100, checkpoints: [30m] }
`;

describe('a score between caution and pass (GO WITH CAUTION)', () => {
  it('is computed from the real values: 9 of 10 weight passes, score 90', async () => {
    const sim = await simulateOn(prom, 'cautious', scoreSpec('hold'), T0, T0 + 3 * HOUR);
    const first = sim.records[1]!;
    expect(first).toMatchObject({ decision: 'continue', score: 90, outcome: 'GO WITH CAUTION' });
    expect(metric(first, 'mean-response-time').value).toBeCloseTo(0.6, 9);
    expect(metric(first, 'mean-response-time').verdict).toBe('fail');
    expect(metric(first, 'error-rate')).toMatchObject({ verdict: 'pass', weight: 9 });
  });

  it('onCaution: hold holds at the phase’s last checkpoint, then pauses; never advances', async () => {
    const sim = await simulateOn(prom, 'cautious', scoreSpec('hold'), T0, T0 + 3 * HOUR);
    expect(decisions(sim.records)).toEqual(['lifecycle:start@soft', 'checkpoint:continue@soft', 'checkpoint:hold@soft', 'checkpoint:pause@soft']);
    expect(sim.records.slice(1).map((r) => r.score)).toEqual([90, 90, 90]);
    expect(sim.records[2]!.checkpoint).toMatchObject({ due: iso(T0 + 30 * MIN), attempt: 1 });
    expect(sim.records[3]!.checkpoint).toMatchObject({ due: iso(T0 + 35 * MIN), from: iso(T0 + 15 * MIN), attempt: 2 });
    expect(sim.records[3]!.weight).toEqual({ from: 10, to: 10 });
    expect(sim.exitCode).toBe(11);
  });

  it('onCaution: advance advances at the phase’s last checkpoint and completes', async () => {
    const sim = await simulateOn(prom, 'cautious', scoreSpec('advance'), T0, T0 + 3 * HOUR);
    expect(decisions(sim.records)).toEqual(['lifecycle:start@soft', 'checkpoint:continue@soft', 'checkpoint:advance@soft', 'checkpoint:complete@full']);
    expect(sim.records.slice(1).map((r) => [r.score, r.outcome])).toEqual([
      [90, 'GO WITH CAUTION'],
      [90, 'GO WITH CAUTION'],
      [90, 'GO WITH CAUTION'],
    ]);
    expect(sim.records[2]).toMatchObject({ at: iso(T0 + 30 * MIN), weight: { from: 10, to: 100 } });
    expect(sim.exitCode).toBe(0);
    expectGaplessSeq(sim.records);
  });
});
