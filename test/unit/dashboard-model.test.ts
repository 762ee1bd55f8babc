/**
 * The dashboard's model (src/dashboard/model.ts): health rules, the summary's fields from the
 * state and the plan, the phases of a plan and of a journal alone; the guard rings' budget
 * (src/dashboard/guard-rings.ts) and the latest-records ring (src/dashboard/records.ts).
 */
import { describe, expect, it } from 'vitest';
import { initialState, replay, type RolloutState } from '../../src/core/state.js';
import type { DecisionRecord } from '../../src/core/record.js';
import { health, OVERDUE_MS, phasePlans, phasesFromRecords, planTimeZone, rolloutPage, summarize } from '../../src/dashboard/model.js';
import { GuardRings } from '../../src/dashboard/guard-rings.js';
import { LatestRecords } from '../../src/dashboard/records.js';
import type { GuardPoint } from '../../src/dashboard/view.js';
import { demoPlan } from '../helpers/engine.js';
import { record, ROLLOUT } from '../helpers/records.js';

const NOW = Date.parse('2025-11-01T15:00:00Z');

function state(over: Partial<RolloutState> = {}): RolloutState {
  return { ...initialState(ROLLOUT), revision: 'r1', seq: 2, status: 'progressing', phaseName: 'canary', weight: 10, ...over };
}

const metric = (verdict: 'pass' | 'hold' | 'fail' | 'nodata') => ({ name: 'errors', query: 'q', value: verdict === 'nodata' ? null : 0.001, verdict, critical: true });

const plan = demoPlan(`  metrics: [{ name: errors, query: "sum(vector(0))", max: 0.01 }]
  guard: { interval: 10s, consecutive: 3 }
  windows: [{ start: "09:00", end: "17:00", timezone: Europe/Berlin }]
  phases:
    - { name: canary, weight: 10, settle: 1m, checkpoints: [5m, 10m] }
    - { name: half, weight: 50, mirror: 20, checkpoints: [{ every: 5m, until: 30m }] }
    - { name: full, weight: 100, checkpoints: ["2025-11-02T16:15:00Z"] }
`).plan;

describe('health', () => {
  it('complete, failing (rolling back, rolled back) and paused follow the status', () => {
    expect(health(state({ status: 'complete' }), NOW)).toBe('complete');
    expect(health(state({ status: 'rolling-back' }), NOW)).toBe('failing');
    expect(health(state({ status: 'rolled-back' }), NOW)).toBe('failing');
    expect(health(state({ status: 'paused' }), NOW)).toBe('paused');
  });

  it('progressing or waiting with nothing wrong is healthy', () => {
    expect(health(state(), NOW)).toBe('healthy');
    expect(health(state({ status: 'waiting', waitingFor: 'approval' }), NOW)).toBe('healthy');
    expect(health(state({ last: record(2, { metrics: [metric('pass')] }) }), NOW)).toBe('healthy');
  });

  it('a hold, an inconclusive checkpoint, guard strikes, nodata or an overdue action is a warning', () => {
    expect(health(state({ last: record(2, { decision: 'hold' }) }), NOW)).toBe('warning');
    expect(health(state({ inconclusive: 1 }), NOW)).toBe('warning');
    expect(health(state({ guardStrikes: 1 }), NOW)).toBe('warning');
    expect(health(state({ last: record(2, { metrics: [metric('pass'), metric('nodata')] }) }), NOW)).toBe('warning');
    const due = (ms: number) => state({ last: record(2, { next: { what: 'checkpoint 2/2 of canary', at: new Date(NOW - ms).toISOString() } }) });
    expect(health(due(OVERDUE_MS + 1000), NOW)).toBe('warning');
    expect(health(due(OVERDUE_MS - 1000), NOW)).toBe('healthy');
  });
});

describe('summarize', () => {
  it('carries the state, the plan guard limit, the last record shortened, what is next and the time zone', () => {
    const last = record(2, { next: { what: 'checkpoint 2/2 of canary', at: '2025-11-01T15:05:00.000Z' } });
    const s = summarize(ROLLOUT, state({ last, guardStrikes: 1, applied: { seq: 1, weight: 10, mirror: 0, at: Date.parse('2025-11-01T14:00:01Z') } }), plan, NOW);
    expect(s).toEqual({
      rollout: ROLLOUT,
      revision: 'r1',
      status: 'progressing',
      health: 'warning',
      phase: 'canary',
      phaseIndex: 0,
      phases: 3,
      weight: 10,
      mirror: 0,
      applied: { weight: 10, mirror: 0, at: '2025-11-01T14:00:01.000Z' },
      waitingFor: null,
      guard: { strikes: 1, consecutive: 3 },
      last: { seq: 2, decision: 'continue', kind: 'checkpoint', at: last.at, reason: last.reason, actor: 'controller' },
      next: { what: 'checkpoint 2/2 of canary', at: '2025-11-01T15:05:00.000Z' },
      timeZone: 'Europe/Berlin',
    });
  });

  it('before the first decision: the plan revision and first phase; without a plan no guard and no time zone', () => {
    const s = summarize(ROLLOUT, initialState(ROLLOUT), plan, NOW);
    expect(s).toMatchObject({ revision: 'r1', phase: 'canary', status: 'waiting', last: null, next: null, applied: null });
    const bare = summarize(ROLLOUT, state({ phaseIndex: 1, phaseName: 'half' }), null, NOW);
    expect(bare).toMatchObject({ guard: null, timeZone: null, phases: 2, phase: 'half' });
  });

  it('a plan without windows has no time zone', () => {
    expect(planTimeZone(demoPlan(`  metrics: [{ name: e, query: q, max: 1 }]\n  phases: [{ name: a, weight: 10, checkpoints: [1m] }]\n`).plan)).toBeNull();
  });
});

describe('phases', () => {
  it('from the plan: split, checkpoint count, settle + last offset, null for an instant', () => {
    expect(phasePlans(plan)).toEqual([
      { name: 'canary', weight: 10, mirror: 0, checkpoints: 2, durationSeconds: 660 },
      { name: 'half', weight: 50, mirror: 20, checkpoints: 6, durationSeconds: 1800 },
      { name: 'full', weight: 100, mirror: 0, checkpoints: 1, durationSeconds: null },
    ]);
  });

  it('from a journal alone: the phases its records entered, with their split and checkpoint count', () => {
    const records: DecisionRecord[] = [
      record(1, { enters: { phase: 'canary', index: 0 } }),
      record(2, { checkpoint: { index: 0, of: 2, due: 'x', window: '5m' } }),
      record(3, { decision: 'advance', kind: 'checkpoint', phase: 'canary', enters: { phase: 'half', index: 1 }, weight: { from: 10, to: 50 }, mirror: { from: 0, to: 20 } }),
    ];
    expect(phasesFromRecords(records)).toEqual([
      { name: 'canary', weight: 10, mirror: 0, checkpoints: 2, durationSeconds: null },
      { name: 'half', weight: 50, mirror: 20, checkpoints: 0, durationSeconds: null },
    ]);
  });

  it('a page carries records, omitted count, guard points, ranges and where it comes from', () => {
    const records = [record(1), record(2)];
    const s = replay(ROLLOUT, records);
    const page = rolloutPage({ id: ROLLOUT, state: s, plan, records, recordsOmitted: 7, source: 'live', now: NOW });
    expect(page).toMatchObject({ records, recordsOmitted: 7, guard: [], ranges: [], rangesNote: null, source: 'live', generatedAt: '2025-11-01T15:00:00.000Z' });
    expect(page.phases).toHaveLength(3);
    expect(page.summary.last?.seq).toBe(2);
  });
});

describe('guard rings', () => {
  const point = (i: number): GuardPoint => ({ at: new Date(NOW + i * 1000).toISOString(), result: 'pass', strikes: 0, metrics: [] });

  it('keep the latest points of a rollout, oldest first, up to the per-rollout cap', () => {
    const rings = new GuardRings(5, 1000);
    for (let i = 0; i < 12; i++) rings.push('a/b', point(i));
    expect(rings.points('a/b').map((p) => p.at)).toEqual([7, 8, 9, 10, 11].map((i) => point(i).at));
    expect(rings.last('a/b')).toEqual(point(11));
  });

  it('share a global budget: more rollouts, fewer points each, never more than the total', () => {
    const rings = new GuardRings(100, 1000);
    for (let i = 0; i < 50; i++) rings.push('ns/one', point(i));
    expect(rings.size()).toBe(50);
    for (let r = 0; r < 40; r++) rings.add(`ns/r${r}`);
    expect(rings.capacity).toBe(24); // floor(1000 / 41)
    expect(rings.points('ns/one')).toHaveLength(24);
    expect(rings.points('ns/one').at(-1)).toEqual(point(49));
    for (let r = 0; r < 40; r++) for (let i = 0; i < 30; i++) rings.push(`ns/r${r}`, point(i));
    expect(rings.size()).toBeLessThanOrEqual(1000);
    rings.remove('ns/one');
    expect(rings.points('ns/one')).toEqual([]);
  });

  it('10,000 rollouts stay within the default budget', () => {
    const rings = new GuardRings();
    for (let r = 0; r < 10_000; r++) for (let i = 0; i < 3; i++) rings.push(`ns/r${r}`, point(i));
    expect(rings.size()).toBeLessThanOrEqual(20_000);
    expect(rings.capacity).toBe(2);
  });
});

describe('latest records', () => {
  it('keeps the last n records in order and counts the rest', () => {
    const latest = new LatestRecords(3);
    for (let i = 1; i <= 8; i++) latest.push(record(i));
    const { records, omitted } = latest.result();
    expect(records.map((r) => r.seq)).toEqual([6, 7, 8]);
    expect(omitted).toBe(5);
  });

  it('fewer records than the limit: all of them, none omitted', () => {
    const latest = new LatestRecords(3);
    latest.push(record(1));
    latest.push(record(2));
    expect(latest.result()).toEqual({ records: [record(1), record(2)], omitted: 0 });
  });
});
