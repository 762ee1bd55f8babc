/**
 * Gates (startAt, approvals, windows, blackouts), manual decisions, plan updates and
 * checkpoints missed while the controller was down, on the real engine in virtual time.
 */
import { describe, expect, it } from 'vitest';
import { decisions, engine, HOUR, MIN, demoPlan, T0 } from '../helpers/engine.js';
import { MemoryJournal } from '../../src/journal/memory-journal.js';

const iso = (t: number) => new Date(t).toISOString();
const ok = () => 0.001;

function plan(extra: string, phases: string, revision = 'r1') {
  return demoPlan(`
  metrics:
    - { name: error-rate, query: 'errors[{{window}}]', max: 0.01, critical: true }
  guard: { interval: 1m }
${extra}
  phases:
${phases}`, { revision });
}

const simple = `
    - { name: canary, weight: 10, checkpoints: [30m] }
    - { name: full, weight: 100, checkpoints: [1h] }`;

describe('gates', () => {
  it('spec.startAt: a start record that keeps the split, a wait, then the split at the exact instant', async () => {
    const startAt = T0 + 2 * HOUR;
    const e = await engine(plan(`  startAt: "${iso(startAt)}"`, simple), ok);
    await e.runUntil(T0 + 10 * HOUR);
    expect(decisions(e.records).slice(0, 3)).toEqual(['lifecycle:start@canary', 'wait:wait@canary', 'wait:advance@canary']);
    expect(e.records[0]!.weight).toEqual({ from: 0, to: 0 });
    expect(e.records[1]).toMatchObject({ waitingFor: 'startAt', next: { at: iso(startAt) } });
    expect(e.records[2]).toMatchObject({ at: iso(startAt), weight: { from: 0, to: 10 } });
    expect(e.records[3]!.checkpoint!.due).toBe(iso(startAt + 30 * MIN));
  });

  it('phase startAt: the phase ends with a wait and the next split is applied at the instant', async () => {
    const gate = T0 + 3 * HOUR;
    const e = await engine(plan('', `
    - { name: canary, weight: 10, checkpoints: [30m] }
    - { name: full, weight: 100, startAt: "${iso(gate)}", checkpoints: ["${iso(gate + 30 * MIN)}"] }`), ok);
    await e.runUntil(T0 + 10 * HOUR);
    expect(decisions(e.records)).toEqual(['lifecycle:start@canary', 'checkpoint:wait@canary', 'wait:advance@full', 'checkpoint:complete@full']);
    expect(e.records[1]).toMatchObject({ waitingFor: 'startAt', enters: { phase: 'full', index: 1 }, weight: { from: 10, to: 10 } });
    expect(e.records[2]).toMatchObject({ at: iso(gate), weight: { from: 10, to: 100 } });
    expect(e.records[3]!.checkpoint).toMatchObject({ due: iso(gate + 30 * MIN), from: iso(gate) });
  });

  it('approval: waits for a person; promote begins the phase, recorded with actor and reason', async () => {
    const e = await engine(plan('', `
    - { name: canary, weight: 10, checkpoints: [30m] }
    - { name: full, weight: 100, approval: true, checkpoints: [1h] }`), ok);
    await e.runUntil(T0 + 5 * HOUR);
    expect(decisions(e.records)).toEqual(['lifecycle:start@canary', 'checkpoint:wait@canary']);
    expect(e.records[1]).toMatchObject({ waitingFor: 'approval' });
    expect(e.runner.nextDueAt()).not.toBeNull(); // the guard keeps watching the 10%
    const res = await e.runner.manual('promote', 'alice@laptop', 'dashboards look fine');
    expect(res).toMatchObject({ accepted: true, seq: 4 });
    expect(e.records.slice(2)).toMatchObject([
      { kind: 'manual', decision: 'promote', actor: 'alice@laptop', reason: expect.stringContaining('dashboards look fine') },
      { kind: 'wait', decision: 'advance', weight: { from: 10, to: 100 } },
    ]);
  });

  it('simulate grants approvals at once and records them as such', async () => {
    const e = await engine(plan('', `
    - { name: canary, weight: 10, checkpoints: [30m] }
    - { name: full, weight: 100, approval: true, checkpoints: [1h] }`), ok, { autoApprove: true });
    await e.runUntil(T0 + 5 * HOUR);
    expect(decisions(e.records)).toEqual(['lifecycle:start@canary', 'checkpoint:wait@canary', 'manual:promote@full', 'wait:advance@full', 'checkpoint:complete@full']);
    expect(e.records[2]!.actor).toBe('simulate');
  });

  it('windows: an increase outside a window waits for the next one (IANA zone); checkpoints go on', async () => {
    // T0 is Monday 10:00 UTC = 11:00 Berlin. Window 09:00-12:00 Berlin Mon-Tue.
    const e = await engine(
      plan('  windows: [{ days: [mon, tue], start: "09:00", end: "12:00", timezone: Europe/Berlin }]', `
    - { name: canary, weight: 10, checkpoints: [30m] }
    - { name: ramp, weight: 50, checkpoints: [1h] }
    - { name: full, weight: 100, checkpoints: [1h] }`),
      ok,
    );
    await e.runUntil(T0 + 48 * HOUR);
    expect(decisions(e.records)).toEqual([
      'lifecycle:start@canary',
      'checkpoint:advance@canary', // 10:30 UTC = 11:30 Berlin, inside
      'checkpoint:wait@ramp', // 11:30 UTC = 12:30 Berlin, outside
      'wait:advance@full',
      'checkpoint:complete@full',
    ]);
    expect(e.records[2]).toMatchObject({ waitingFor: 'window', next: { at: '2025-11-04T08:00:00.000Z' } });
    expect(e.records[3]!.at).toBe('2025-11-04T08:00:00.000Z'); // Tuesday 09:00 Berlin
  });

  it('a blackout beats a window and delays the first split', async () => {
    const e = await engine(
      plan(`  windows: [{ start: "00:00", end: "23:59" }]
  blackouts: [{ from: "${iso(T0 - HOUR)}", to: "${iso(T0 + 2 * HOUR)}", reason: freeze }]`, simple),
      ok,
    );
    await e.runUntil(T0 + 10 * HOUR);
    expect(decisions(e.records).slice(0, 3)).toEqual(['lifecycle:start@canary', 'wait:wait@canary', 'wait:advance@canary']);
    expect(e.records[1]).toMatchObject({ waitingFor: 'blackout' });
    expect(e.records[1]!.reason).toContain('freeze');
    expect(e.records[2]!.at).toBe(iso(T0 + 2 * HOUR));
  });

  it('a rollback is never held by a window', async () => {
    const sunday = Date.parse('2025-11-02T09:00:00Z');
    const e = await engine(
      plan('  windows: [{ days: [sun], start: "09:00", end: "09:35" }]', simple),
      (_q, at) => (at > sunday + 50 * MIN ? 0.5 : 0.001),
      { from: sunday },
    );
    await e.runUntil(sunday + 24 * HOUR);
    expect(decisions(e.records)).toEqual(['lifecycle:start@canary', 'checkpoint:advance@canary', 'guard:rollback@full']);
    expect(Date.parse(e.records[2]!.at)).toBeLessThanOrEqual(sunday + 53 * MIN);
  });
});

describe('manual decisions', () => {
  it('pause holds the split and stops checkpoints; resume judges the pending checkpoint', async () => {
    const e = await engine(plan('', simple), ok);
    await e.runUntil(T0 + 10 * MIN);
    expect(await e.runner.manual('pause', 'bob', 'investigating')).toMatchObject({ accepted: true });
    await e.runUntil(T0 + 2 * HOUR, false);
    expect(decisions(e.records)).toEqual(['lifecycle:start@canary', 'manual:pause@canary']);
    expect(await e.runner.manual('pause', 'bob')).toMatchObject({ accepted: false, message: expect.stringContaining('already paused') });
    await e.runner.manual('resume', 'bob');
    await e.runUntil(T0 + 10 * HOUR);
    expect(decisions(e.records)).toEqual([
      'lifecycle:start@canary',
      'manual:pause@canary',
      'manual:resume@canary',
      'checkpoint:advance@canary',
      'checkpoint:complete@full',
    ]);
    // The checkpoint due during the pause gets a full window (30m) after the resume, and is
    // judged over the whole span since the window opened.
    expect(e.records[3]!.checkpoint).toMatchObject({ from: iso(T0), due: iso(T0 + 2 * HOUR + 30 * MIN), window: '2h30m' });
  });

  it('abort rolls back now, recorded as manual abort followed by rollback; retry starts over', async () => {
    const e = await engine(plan('', simple), ok);
    await e.runUntil(T0 + 40 * MIN);
    const res = await e.runner.manual('abort', 'carol', 'bad deploy');
    expect(res.accepted).toBe(true);
    expect(decisions(e.records).slice(-2)).toEqual(['manual:abort@full', 'manual:rollback@full']);
    expect(e.records.at(-1)!.weight).toEqual({ from: 100, to: 0 });
    expect(await e.runner.manual('abort', 'carol')).toMatchObject({ accepted: false });
    expect(await e.runner.manual('resume', 'carol')).toMatchObject({ accepted: false });
    expect(await e.runner.manual('retry', 'carol')).toMatchObject({ accepted: true });
    expect(e.records.at(-1)).toMatchObject({ kind: 'manual', decision: 'start', weight: { from: 0, to: 10 }, actor: 'carol' });
    await e.runUntil(T0 + 10 * HOUR);
    expect(e.runner.state.status).toBe('complete');
  });

  it('promote skips the rest of the current phase', async () => {
    const e = await engine(plan('', simple), ok);
    await e.runUntil(T0 + 5 * MIN);
    await e.runner.manual('promote', 'dan');
    expect(decisions(e.records)).toEqual(['lifecycle:start@canary', 'manual:promote@canary', 'manual:advance@canary']);
    expect(e.records.at(-1)!.weight).toEqual({ from: 10, to: 100 });
  });

  it('refuses what makes no sense, with why', async () => {
    const e = await engine(plan('', simple), ok);
    await e.runUntil(T0 + 10 * HOUR);
    expect(e.runner.state.status).toBe('complete');
    for (const a of ['pause', 'resume', 'promote', 'abort', 'retry'] as const) {
      const res = await e.runner.manual(a, 'eve');
      expect(res.accepted, a).toBe(false);
      expect(res.message).toMatch(/complete/);
    }
  });
});

describe('plan changes', () => {
  it('an edit with the same revision records plan-updated and keeps the phase; new thresholds apply next', async () => {
    const e = await engine(plan('', simple), () => 0.005);
    await e.runUntil(T0 + 40 * MIN);
    const edited = plan('', simple.replace('weight: 100', 'weight: 100, thresholds: { error-rate: { max: 0.001 } }'));
    await e.runner.updatePlan({ plan: edited.plan, planHash: edited.hash });
    await e.runUntil(T0 + 10 * HOUR, false);
    expect(decisions(e.records)).toEqual(['lifecycle:start@canary', 'checkpoint:advance@canary', 'lifecycle:plan-updated@full', 'guard:rollback@full']);
    expect(e.records[2]!.planHash).toBe(edited.hash);
  });

  it('a phase that disappears pauses the rollout', async () => {
    const e = await engine(plan('', simple), ok);
    await e.runUntil(T0 + 40 * MIN);
    const edited = plan('', `
    - { name: canary, weight: 10, checkpoints: [30m] }
    - { name: everyone, weight: 100, checkpoints: [1h] }`);
    await e.runner.updatePlan({ plan: edited.plan, planHash: edited.hash });
    expect(decisions(e.records).slice(-2)).toEqual(['lifecycle:plan-updated@full', 'lifecycle:pause@full']);
    expect(await e.runner.manual('resume', 'x')).toMatchObject({ accepted: false, message: expect.stringContaining('no longer has') });
    expect(e.runner.state.status).toBe('paused');
  });

  it('a new revision starts over from the first phase', async () => {
    const e = await engine(plan('', simple), ok);
    await e.runUntil(T0 + 10 * HOUR);
    const next = plan('', simple, 'r2');
    await e.runner.updatePlan({ plan: next.plan, planHash: next.hash });
    expect(e.records.at(-1)).toMatchObject({ decision: 'start', revision: 'r2', weight: { from: 100, to: 10 } });
    await e.runUntil(T0 + 20 * HOUR);
    expect(e.runner.state).toMatchObject({ status: 'complete', revision: 'r2' });
  });
});

describe('controller down', () => {
  it('checkpoints missed while down are judged on return over the spans they cover, with due and actual time', async () => {
    const journal = new MemoryJournal();
    const loaded = plan('', `
    - { name: ramp, weight: 10, checkpoints: [15m, 30m, 1h] }`);
    const first = await engine(loaded, ok, { journal });
    await first.runUntil(T0 + 20 * MIN); // judged the 15m checkpoint, then "crashed"
    const second = await engine(loaded, ok, { journal, from: T0 + 3 * HOUR });
    await second.runUntil(T0 + 10 * HOUR);
    expect(decisions(second.records)).toEqual(['checkpoint:continue@ramp', 'checkpoint:complete@ramp']);
    expect(second.records[0]!.checkpoint).toMatchObject({ due: iso(T0 + 30 * MIN), from: iso(T0 + 15 * MIN), window: '15m', lateSeconds: 9000 });
    expect(second.records[0]!.at).toBe(iso(T0 + 3 * HOUR));
    expect(second.records[1]!.checkpoint).toMatchObject({ due: iso(T0 + HOUR), from: iso(T0 + 30 * MIN), window: '30m' });
    expect(second.records.map((r) => r.seq)).toEqual([3, 4]);
    // Queries of late checkpoints are evaluated at their due instants.
    const checkpointCalls = second.provider.calls.filter((c) => !c.query.endsWith('[1m]'));
    expect(checkpointCalls.map((c) => c.at)).toEqual([T0 + 30 * MIN, T0 + HOUR]);
  });
});
