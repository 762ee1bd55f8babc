/**
 * The guard between checkpoints and the two rollback strategies (docs/plan-reference.md: guard,
 * rollback), on the real engine in virtual time.
 */
import { describe, expect, it } from 'vitest';
import { decisions, engine, HOUR, MIN, demoPlan, T0 } from '../helpers/engine.js';

const iso = (t: number) => new Date(t).toISOString();
const SEC = 1000;

function plan(extra: string, phases = `
  phases:
    - { name: canary, weight: 10, checkpoints: [30m] }
    - { name: ramp, weight: 60, checkpoints: [30m] }
    - { name: full, weight: 100, checkpoints: [1h] }`) {
  return demoPlan(`
  metrics:
    - { name: error-rate, query: 'errors[{{window}}]', max: 0.01, rollbackAbove: 0.05, critical: true }
    - { name: latency, query: 'latency[{{window}}]', max: 0.5 }
${extra}
${phases}`);
}

describe('guard', () => {
  it('rolls back after `consecutive` failing evaluations, with kind guard, within interval x consecutive of the breach', async () => {
    const breach = T0 + 10 * MIN + 1;
    const e = await engine(plan('  guard: { interval: 15s, consecutive: 2 }'), (q, at) => (q.startsWith('errors') && at >= breach ? 0.2 : 0.001));
    await e.runUntil(T0 + 10 * HOUR);
    expect(decisions(e.records)).toEqual(['lifecycle:start@canary', 'guard:rollback@canary']);
    const rb = e.records[1]!;
    const at = Date.parse(rb.at);
    expect(at - breach).toBeLessThanOrEqual(2 * 15 * SEC);
    expect(rb.metrics![0]).toMatchObject({ name: 'error-rate', value: 0.2, verdict: 'fail', rollbackAbove: 0.05 });
    expect(rb.reason).toMatch(/guard: error-rate.*2 consecutive/);
    expect(rb.metrics![0]!.query).toBe('errors[1m]'); // window defaults to max(interval, 1m)
  });

  it('judges against rollbackAbove, not max: a value between them never triggers the guard', async () => {
    const e = await engine(plan('  guard: { interval: 15s, consecutive: 2 }'), (q) => (q.startsWith('errors') ? 0.03 : 0.001));
    await e.runUntil(T0 + 20 * MIN);
    expect(decisions(e.records)).toEqual(['lifecycle:start@canary']);
  });

  it('a passing evaluation resets the count; nodata neither counts nor resets', async () => {
    // fail, pass, fail, nodata, fail -> the last two fails are consecutive around a nodata.
    const pattern = ['fail', 'pass', 'fail', 'nodata', 'fail'];
    let tick = 0;
    const e = await engine(plan('  guard: { interval: 10s, consecutive: 2, metrics: [error-rate] }'), (q) => {
      if (!q.startsWith('errors') || !q.endsWith('[1m]')) return 0.001;
      const v = pattern[tick++] ?? 'pass';
      return v === 'fail' ? 0.2 : v === 'nodata' ? null : 0.001;
    });
    await e.runUntil(T0 + 5 * MIN);
    expect(decisions(e.records)).toEqual(['lifecycle:start@canary', 'guard:rollback@canary']);
    expect(e.records[1]!.at).toBe(iso(T0 + 50 * SEC));
  });

  it('nodata alone never rolls back', async () => {
    const e = await engine(plan('  guard: { interval: 10s, consecutive: 1 }'), (q) => (q.endsWith('[1m]') ? null : 0.001));
    await e.runUntil(T0 + 10 * HOUR);
    expect(e.runner.state.status).toBe('complete');
  });

  it('keeps watching while the rollout is paused', async () => {
    const breach = T0 + 40 * MIN;
    const e = await engine(plan('  guard: { interval: 30s, consecutive: 2 }\n  analysis: { inconclusiveLimit: 0 }'), (q, at) => {
      if (q.startsWith('latency')) return null; // the 30m checkpoint pauses
      return at >= breach ? 0.5 : 0.001;
    });
    await e.runUntil(T0 + 10 * HOUR, false);
    expect(decisions(e.records)).toEqual(['lifecycle:start@canary', 'checkpoint:pause@canary', 'guard:rollback@canary']);
  });

  it('watches the metrics named in guard.metrics with guard.window', async () => {
    const e = await engine(plan('  guard: { interval: 5s, window: 2m, consecutive: 3, metrics: [latency] }'), (q) => (q.startsWith('latency') ? 0.9 : 0.001));
    await e.runUntil(T0 + HOUR);
    expect(decisions(e.records)).toEqual(['lifecycle:start@canary', 'guard:rollback@canary']);
    expect(e.records[1]!.at).toBe(iso(T0 + 15 * SEC));
    expect(e.records[1]!.metrics!.map((m) => m.query)).toEqual(['latency[2m]']);
  });
});

describe('rollback', () => {
  it('immediate: weight and mirror to 0 in one record', async () => {
    const e = await engine(
      plan('  guard: { metrics: [] }', `
  phases:
    - { name: dark, weight: 0, mirror: 100, checkpoints: [10m] }
    - { name: canary, weight: 20, mirror: 50, checkpoints: [10m] }`),
      (q, at) => (q.startsWith('errors') && at > T0 + 15 * MIN ? 0.2 : 0.001),
    );
    await e.runUntil(T0 + HOUR);
    expect(decisions(e.records)).toEqual(['lifecycle:start@dark', 'checkpoint:advance@dark', 'checkpoint:rollback@canary']);
    expect(e.records[0]!.mirror).toEqual({ from: 0, to: 100 });
    expect(e.records[2]).toMatchObject({ weight: { from: 20, to: 0 }, mirror: { from: 50, to: 0 } });
    expect(await e.router.read()).toEqual({ weight: 0, mirror: 0 });
  });

  it('gradual: one record per step below the current weight, stepInterval apart, ending at 0', async () => {
    const breach = T0 + 40 * MIN;
    const e = await engine(
      plan('  guard: { interval: 10s, consecutive: 1 }\n  rollback: { strategy: gradual, steps: [75, 50, 25, 0], stepInterval: 2m }'),
      (q, at) => (q.startsWith('errors') && at >= breach ? 0.2 : 0.001),
    );
    await e.runUntil(T0 + 10 * HOUR);
    const rbs = e.records.filter((r) => r.decision === 'rollback');
    expect(rbs.map((r) => [r.weight.from, r.weight.to])).toEqual([
      [60, 50],
      [50, 25],
      [25, 0],
    ]);
    const t0 = Date.parse(rbs[0]!.at);
    expect(rbs.map((r) => Date.parse(r.at) - t0)).toEqual([0, 2 * MIN, 4 * MIN]);
    expect(rbs.map((r) => r.kind)).toEqual(['guard', 'guard', 'guard']);
    expect(rbs.map((r) => r.next?.what)).toEqual(['rollback step to 25%', 'rollback step to 0%', undefined]);
    expect(rbs[0]!.next).toEqual({ what: 'rollback step to 25%', at: iso(t0 + 2 * MIN) });
    expect(e.runner.state.status).toBe('rolled-back');
  });

  it('a rolled-back rollout stays rolled back', async () => {
    const e = await engine(plan('  guard: { interval: 10s, consecutive: 1 }'), (q) => (q.startsWith('errors') ? 0.2 : 0.001));
    await e.runUntil(T0 + 10 * HOUR, false);
    expect(e.runner.state.status).toBe('rolled-back');
    expect(e.records).toHaveLength(2);
    expect(e.runner.nextDueAt()).toBeNull();
  });
});
