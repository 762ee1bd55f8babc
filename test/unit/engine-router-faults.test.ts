/**
 * A router that cannot apply a decided split: the failure is journalled as a hold, the old
 * split stays, checkpoints wait, the guard keeps watching the live split, and the apply is
 * retried until it succeeds; the phase clock starts when traffic really moved.
 */
import { describe, expect, it } from 'vitest';
import { decisions, engine, HOUR, MIN, demoPlan, T0 } from '../helpers/engine.js';
import { RouterError, type Split, type TrafficRouter } from '../../src/core/router.js';

const iso = (t: number) => new Date(t).toISOString();

/** Fails while `down` says so; otherwise remembers the split. */
class FlakyRouter implements TrafficRouter {
  readonly name = 'flaky';
  readonly target = 'test';
  split: Split | null = null;
  attempts = 0;
  constructor(public down: (attempt: number) => boolean) {}
  async apply(split: Split): Promise<Split> {
    this.attempts++;
    if (this.down(this.attempts)) throw new RouterError('flaky', 'test', 'socket /run/haproxy.sock: connection refused');
    this.split = { ...split };
    return { ...split };
  }
  async read(): Promise<Split | null> {
    return this.split;
  }
}

const plan = (guard = '  guard: { metrics: [] }') =>
  demoPlan(`
  metrics:
    - { name: error-rate, query: 'errors[{{window}}]', max: 0.01, critical: true }
${guard}
  phases:
    - { name: canary, weight: 10, checkpoints: [10m] }
    - { name: full, weight: 100, checkpoints: [10m] }`);

describe('router faults', () => {
  it('a failed apply is journalled as a hold; checkpoints wait; the phase starts when the split is finally applied', async () => {
    // The advance to 100% fails for the first 3 attempts (retries 2 s, 4 s, 8 s apart).
    const router = new FlakyRouter((n) => n >= 2 && n <= 4);
    const e = await engine(plan(), () => 0.001, { router });
    await e.runUntil(T0 + 2 * HOUR);
    expect(decisions(e.records)).toEqual(['lifecycle:start@canary', 'checkpoint:advance@canary', 'lifecycle:hold@full', 'checkpoint:complete@full']);
    const hold = e.records[2]!;
    expect(hold.reason).toMatch(/router flaky \(test\) could not apply 100% decided in #2: .*connection refused; 10% stays in effect/);
    expect(hold.weight).toEqual({ from: 100, to: 100 });
    const applied = T0 + 10 * MIN + 2_000 + 4_000 + 8_000;
    const marks = (await e.journal.read(e.runner.id)).filter((x) => 'applied' in x);
    expect(marks.at(-1)).toMatchObject({ applied: 2, at: iso(applied) });
    // The full phase's 10m checkpoint counts from the moment 100% was really applied.
    expect(e.records[3]!.checkpoint).toMatchObject({ from: iso(applied), due: iso(applied + 10 * MIN) });
    expect(await router.read()).toEqual({ weight: 100, mirror: 0 });
  });

  it('the guard keeps watching the live split while an apply is failing, and its rollback is applied when the router returns', async () => {
    const router = new FlakyRouter((n) => n >= 2 && n <= 40);
    const e = await engine(plan('  guard: { interval: 10s, consecutive: 2 }'), (_q, at) => (at > T0 + 12 * MIN ? 0.5 : 0.001), { router });
    await e.runUntil(T0 + 2 * HOUR, false);
    expect(decisions(e.records)).toEqual(['lifecycle:start@canary', 'checkpoint:advance@canary', 'lifecycle:hold@full', 'guard:rollback@full', 'lifecycle:hold@full']);
    expect(e.records[3]!.weight).toEqual({ from: 100, to: 0 });
    // The rollback's own apply failed at first too: journalled once, retried until it took.
    expect(e.records[4]!.reason).toMatch(/could not apply 0% decided in #4/);
    expect(await router.read()).toEqual({ weight: 0, mirror: 0 });
    expect(e.runner.state.status).toBe('rolled-back');
  });
});

/** Applies the closest split it can express (whole percent), like HAProxy or Istio. */
class RoundingRouter implements TrafficRouter {
  readonly name = 'rounding';
  readonly target = 'test';
  split: Split | null = null;
  applies = 0;
  async apply(split: Split): Promise<Split> {
    this.applies++;
    this.split = { weight: Math.round(split.weight), mirror: Math.round(split.mirror) };
    return { ...this.split };
  }
  async read(): Promise<Split | null> {
    return this.split;
  }
}

describe('restart with a rounding router', () => {
  it('compares the router with the effective split it reported, and does not re-apply', async () => {
    const rounding = demoPlan(`
  metrics:
    - { name: error-rate, query: 'errors[{{window}}]', max: 0.01 }
  phases:
    - { name: canary, weight: 33.3, checkpoints: [10m] }`);
    const router = new RoundingRouter();
    const first = await engine(rounding, () => 0.001, { router });
    await first.runUntil(T0 + 5 * MIN);
    expect(router.applies).toBe(1);
    const marks = (await first.journal.read(first.runner.id)).filter((x) => 'applied' in x);
    expect(marks[0]).toMatchObject({ weight: 33.3, effective: { weight: 33, mirror: 0 } });
    await engine(rounding, () => 0.001, { router, journal: first.journal, from: T0 + 6 * MIN });
    expect(router.applies).toBe(1);
  });
});

describe('drift', () => {
  it('a router that lost its split (HAProxy restarted, a file edited) gets the journalled split back at the next drift check', async () => {
    const p = demoPlan(`
  metrics:
    - { name: error-rate, query: 'errors[{{window}}]', max: 0.01 }
  phases:
    - { name: canary, weight: 20, checkpoints: [1h] }`);
    const router = new RoundingRouter();
    const e = await engine(p, () => 0.001, { router, driftCheckMs: 30_000 });
    await e.runUntil(T0 + 2 * MIN);
    expect(router.applies).toBe(1); // no drift: reads only
    router.split = { weight: 0, mirror: 0 }; // someone reset it
    await e.runUntil(T0 + 3 * MIN);
    expect(router.applies).toBe(2);
    expect(await router.read()).toEqual({ weight: 20, mirror: 0 });
    const marks = (await e.journal.read(e.runner.id)).filter((x) => 'applied' in x);
    expect(marks.map((m) => m.applied)).toEqual([1, 1]);
    expect(decisions(e.records)).toEqual(['lifecycle:start@canary']); // not a decision, no record
  });
});
