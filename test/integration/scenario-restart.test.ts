/**
 * `rollgate run` stopped and started again (same state dir) against a real Prometheus: the
 * controller rebuilds the rollout from its JSONL journal, and the checkpoints that fell due
 * while it was down are judged on its return over the spans they cover, with queries at their
 * due instants: an error spike that came and went during the outage is still caught.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenMetricsHistory, between } from '../helpers/openmetrics.js';
import type { RunningPrometheus } from '../helpers/prometheus.js';
import { decisions, expectGaplessSeq, historyEnd, HOUR, iso, metric, MIN, simulateOn, StandaloneSession, startWithHistory } from './scenario-helpers.js';

const END = historyEnd();
const START = END - 4 * 3600;
const T0 = (START + 1800) * 1000;
const SPIKE = { from: T0 + 40 * MIN, to: T0 + 45 * MIN }; // while the controller is down

function history(): OpenMetricsHistory {
  const h = new OpenMetricsHistory({ start: START, end: END, step: 30 });
  for (const [app, err] of [
    ['calm', () => 0.01],
    ['bumpy', between(SPIKE.from / 1000, SPIKE.to / 1000, 3, 0.01)],
  ] as const) {
    h.counter('http_requests_total', { app, track: 'canary', code: '200' }, 10).counter('http_requests_total', { app, track: 'canary', code: '500' }, err);
  }
  return h;
}

const spec = (app: string) => `
  vars: { app: ${app} }
  metrics:
    - name: error-rate
      query: |
        sum(rate(http_requests_total{app="{{app}}",track="canary",code=~"5.."}[{{window}}]))
          / sum(rate(http_requests_total{app="{{app}}",track="canary"}[{{window}}]))
      max: 0.005
      critical: true
  guard: { interval: 1m }
  phases:
    - { name: canary, weight: 10, checkpoints: [15m, 30m, 1h] }
    - { name: full, weight: 100, checkpoints: [30m] }
`;

const DOWN_AT = T0 + 20 * MIN;
const BACK_AT = T0 + 2 * HOUR;

let prom: RunningPrometheus;
beforeAll(async () => {
  prom = await startWithHistory('restart', history());
});
afterAll(() => prom?.stop());

describe('a controller that was down judges the missed checkpoints on its return', () => {
  it('late checkpoints are judged at return with their due time and lateness, on the data of their own spans', async () => {
    const session = await StandaloneSession.create(prom, 'calm', spec('calm'));
    try {
      await session.run(T0, DOWN_AT, false); // judged the 15m checkpoint, then stopped
      expect(decisions((await session.read()).records)).toEqual(['lifecycle:start@canary', 'checkpoint:continue@canary']);
      await session.run(BACK_AT, T0 + 4 * HOUR);
      const run = await session.read();
      expect(decisions(run.records)).toEqual(['lifecycle:start@canary', 'checkpoint:continue@canary', 'checkpoint:continue@canary', 'checkpoint:advance@canary', 'checkpoint:complete@full']);
      expectGaplessSeq(run.records);
      const [, , late30, late60, done] = run.records;
      expect(late30).toMatchObject({ at: iso(BACK_AT), checkpoint: { from: iso(T0 + 15 * MIN), due: iso(T0 + 30 * MIN), window: '15m', lateSeconds: 90 * 60 } });
      expect(late60).toMatchObject({ at: iso(BACK_AT), checkpoint: { from: iso(T0 + 30 * MIN), due: iso(T0 + HOUR), window: '30m', lateSeconds: 60 * 60 } });
      expect(late60!.weight).toEqual({ from: 10, to: 100 });
      expect(done!.checkpoint).toMatchObject({ from: iso(BACK_AT), due: iso(BACK_AT + 30 * MIN) });
      for (const r of run.records.slice(1)) expect(metric(r, 'error-rate').value).toBeCloseTo(0.01 / 10.01, 12);
      expect(run.split).toEqual({ stable: 0, canary: 100, mirror: 0 });
      // The split of the second phase was applied when the controller came back, not before.
      expect(run.applied.map((a) => [a.weight, a.at])).toEqual([
        [10, iso(T0)],
        [100, iso(BACK_AT)],
      ]);
    } finally {
      await session.remove();
    }
  });

  it('a spike that came and went during the outage fails the late checkpoint whose span holds it', async () => {
    const session = await StandaloneSession.create(prom, 'bumpy', spec('bumpy'));
    try {
      await session.run(T0, DOWN_AT, false);
      await session.run(BACK_AT, T0 + 4 * HOUR);
      const run = await session.read();
      expect(decisions(run.records)).toEqual(['lifecycle:start@canary', 'checkpoint:continue@canary', 'checkpoint:continue@canary', 'checkpoint:rollback@canary']);
      const rb = run.records[3]!;
      expect(rb).toMatchObject({ at: iso(BACK_AT), checkpoint: { due: iso(T0 + HOUR), window: '30m', lateSeconds: 3600 }, weight: { from: 10, to: 0 } });
      expect(metric(rb, 'error-rate')).toMatchObject({ verdict: 'fail' });
      expect(run.split).toEqual({ stable: 100, canary: 0, mirror: 0 });

      // Uninterrupted, the guard catches the same spike while it happens; the checkpoints
      // judged before and after the outage saw the same data.
      const sim = await simulateOn(prom, 'bumpy', spec('bumpy'), T0, T0 + 4 * HOUR);
      expect(decisions(sim.records)).toEqual(['lifecycle:start@canary', 'checkpoint:continue@canary', 'checkpoint:continue@canary', 'guard:rollback@canary']);
      expect(Date.parse(sim.records[3]!.at)).toBeLessThan(SPIKE.to);
      const judged = (records: typeof run.records) => records.slice(1, 3).map((r) => [r.checkpoint!.due, r.checkpoint!.window, metric(r, 'error-rate').value]);
      expect(judged(run.records)).toEqual(judged(sim.records));
    } finally {
      await session.remove();
    }
  });
});
