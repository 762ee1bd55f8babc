/**
 * Scenario 10 and the cost of simulation, against a real Prometheus holding 42 hours of one
 * counter (60 s step): simulating the same plan twice gives identical records, and a 40-hour
 * plan whose guard ticks every 5 s (28,800 ticks) costs a handful of HTTP requests, because
 * guard ticks are answered from range queries (RangePrefetchProvider).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenMetricsHistory, between } from '../helpers/openmetrics.js';
import type { RunningPrometheus } from '../helpers/prometheus.js';
import type { QueryInfo } from '../../src/metrics/prometheus.js';
import { decisions, expectCheckpointsCoverPhases, expectGaplessSeq, historyEnd, HOUR, iso, metric, MIN, SEC, simulateOn, startWithHistory } from './scenario-helpers.js';

const END = historyEnd();
const START = END - 42 * 3600;
const T0 = (START + 3600) * 1000;
// Throughput of the canary drops from 10 to 2 requests/s for 20 minutes, 30 hours in.
const DIP = { from: T0 + 30 * HOUR, to: T0 + 30 * HOUR + 20 * MIN };

function history(): OpenMetricsHistory {
  return new OpenMetricsHistory({ start: START, end: END, step: 60 }).counter(
    'http_requests_total',
    { app: 'long', track: 'canary' },
    between(DIP.from / 1000, DIP.to / 1000, 2, 10),
  );
}

/** A 40-hour plan judging throughput, guard every 5 s over 3 m (the history has a sample a minute). */
const spec = (min: number) => `
  vars: { app: long }
  metrics:
    - name: throughput
      query: sum(rate(http_requests_total{app="{{app}}",track="canary"}[{{window}}]))
      min: ${min}
      critical: true
  guard: { interval: 5s, window: 3m, consecutive: 2 }
  phases:
    - { name: canary, weight: 10, checkpoints: [{ every: 4h, until: 20h }] }
    - { name: full, weight: 100, checkpoints: [{ every: 4h, until: 20h }] }
`;
const TOLERANT = spec(1); // the dip to 2/s passes
const STRICT = spec(5); // the dip to 2/s fails

let prom: RunningPrometheus;
beforeAll(async () => {
  prom = await startWithHistory('determinism-cost', history());
});
afterAll(() => prom?.stop());

describe('determinism', () => {
  it('simulating the same plan twice against the same history gives identical records', async () => {
    const a = await simulateOn(prom, 'long', STRICT, T0, T0 + 41 * HOUR);
    const b = await simulateOn(prom, 'long', STRICT, T0, T0 + 41 * HOUR);
    expect(b.records).toEqual(a.records);
    expect(b.exitCode).toBe(a.exitCode);
    // Not a trivial run: five checkpoints, an advance, five more, then the guard at the dip.
    expect(decisions(a.records)).toEqual([
      'lifecycle:start@canary',
      ...Array(4).fill('checkpoint:continue@canary'),
      'checkpoint:advance@canary',
      ...Array(2).fill('checkpoint:continue@full'),
      'guard:rollback@full',
    ]);
    const rb = a.records.at(-1)!;
    expect(Date.parse(rb.at)).toBeGreaterThan(DIP.from);
    expect(Date.parse(rb.at)).toBeLessThanOrEqual(DIP.from + 2 * 5 * SEC + 3 * MIN);
    expect(metric(rb, 'throughput').value!).toBeLessThan(5);
    expectGaplessSeq(a.records);
  });
});

describe('cost of simulating guard ticks', () => {
  it('a 40-hour plan with a guard every 5 s makes far fewer than one request per tick (< 1%)', async () => {
    const requests: QueryInfo[] = [];
    const started = performance.now();
    const sim = await simulateOn(prom, 'long', TOLERANT, T0, T0 + 41 * HOUR, (q) => requests.push(q));
    const elapsed = performance.now() - started;
    expect(sim.exitCode).toBe(0);
    expect(sim.records.at(-1)).toMatchObject({ decision: 'complete', at: iso(T0 + 40 * HOUR) });
    expectCheckpointsCoverPhases(sim.records);
    // The dip is real data: the checkpoint whose window holds it sees less than 10/s.
    const dipped = sim.records.find((r) => r.checkpoint && Date.parse(r.checkpoint.due) === T0 + 32 * HOUR)!;
    expect(metric(dipped, 'throughput').value!).toBeLessThan(9.9);

    const ticks = (40 * HOUR) / (5 * SEC);
    expect(ticks).toBe(28_800);
    expect(sim.prefetch.cachedAnswers).toBeGreaterThan(ticks * 0.99);
    expect(requests.every((r) => r.ok)).toBe(true);
    expect(requests.length).toBeLessThan(ticks / 100);
    console.info(
      `[determinism-cost] ${ticks} guard ticks: ${requests.length} HTTP requests (${requests.filter((r) => r.kind === 'range').length} range), ${elapsed.toFixed(0)} ms`,
    );
  });
});
