/**
 * Plan semantics of checkpoints and gates, row by row of docs/plan-reference.md, on the real engine
 * in virtual time with scripted metric values.
 */
import { describe, expect, it } from 'vitest';
import { decisions, engine, HOUR, MIN, demoPlan, T0 } from '../helpers/engine.js';
import { replay } from '../../src/core/state.js';

const iso = (t: number) => new Date(t).toISOString();

function plan(spec: string, metrics = `
    - { name: error-rate, query: 'errors{phase="{{phase}}"}[{{window}}]', max: 0.01, critical: true }
    - { name: latency, query: 'latency[{{window}}]', max: 0.5 }`): ReturnType<typeof demoPlan> {
  return demoPlan(`
  metrics:${metrics}
${spec}`, { metadata: '{ name: demo, namespace: team }' });
}

// Checkpoint tests switch the guard off; guard behaviour has its own tests.
const noGuard = `
  guard: { metrics: [] }`;
const twoPhases = `${noGuard}
  phases:
    - { name: canary, weight: 10, checkpoints: [15m, 30m] }
    - { name: full, weight: 100, checkpoints: [1h] }`;

const healthy = (q: string) => (q.startsWith('errors') ? 0.001 : 0.1);

describe('checkpoints', () => {
  it('a healthy rollout passes every checkpoint, advances, and completes', async () => {
    const e = await engine(plan(twoPhases), healthy);
    await e.runUntil(T0 + 10 * HOUR);
    expect(decisions(e.records)).toEqual([
      'lifecycle:start@canary',
      'checkpoint:continue@canary',
      'checkpoint:advance@canary',
      'checkpoint:complete@full',
    ]);
    expect(e.records.map((r) => r.at)).toEqual([iso(T0), iso(T0 + 15 * MIN), iso(T0 + 30 * MIN), iso(T0 + 90 * MIN)]);
    expect(e.records[2]!.weight).toEqual({ from: 10, to: 100 });
    expect(e.records.map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    expect(await e.router.read()).toEqual({ weight: 100, mirror: 0 });
  });

  it('the checkpoint windows of a phase cover it without gaps: 15m then 15m, each ending at its due time', async () => {
    const e = await engine(plan(twoPhases), healthy);
    await e.runUntil(T0 + 10 * HOUR);
    const [, c1, c2, c3] = e.records;
    expect(c1!.checkpoint).toMatchObject({ index: 1, of: 2, window: '15m', from: iso(T0), due: iso(T0 + 15 * MIN) });
    expect(c2!.checkpoint).toMatchObject({ index: 2, of: 2, window: '15m', from: iso(T0 + 15 * MIN) });
    expect(c3!.checkpoint).toMatchObject({ index: 1, of: 1, window: '1h', from: iso(T0 + 30 * MIN) });
    expect(c1!.metrics![0]!.query).toBe('errors{phase="canary"}[15m]');
    // Queries are evaluated at the checkpoint's due instant.
    const errorCalls = e.provider.calls.filter((c) => c.query.startsWith('errors'));
    expect(errorCalls.map((c) => c.at)).toEqual([T0 + 15 * MIN, T0 + 30 * MIN, T0 + 90 * MIN]);
  });

  it('settle delays the first checkpoint window', async () => {
    const e = await engine(plan(`
  phases:
    - { name: canary, weight: 10, settle: 5m, checkpoints: [10m] }`), healthy);
    await e.runUntil(T0 + HOUR);
    expect(e.records[1]!.checkpoint).toMatchObject({ from: iso(T0 + 5 * MIN), due: iso(T0 + 15 * MIN), window: '10m' });
  });

  it('{every, until} blocks continue one another', async () => {
    const e = await engine(plan(`
  phases:
    - name: watch
      weight: 100
      checkpoints: [{ every: 15m, until: 30m }, { every: 1h, until: 2h30m }]`), healthy);
    await e.runUntil(T0 + 5 * HOUR);
    expect(e.records.slice(1).map((r) => r.checkpoint!.due)).toEqual([
      iso(T0 + 15 * MIN),
      iso(T0 + 30 * MIN),
      iso(T0 + 90 * MIN),
      iso(T0 + 150 * MIN),
    ]);
    expect(e.runner.state.status).toBe('complete');
  });

  it('a failing metric rolls back at the checkpoint', async () => {
    const e = await engine(plan(twoPhases), (q) => (q.startsWith('errors') ? 0.05 : 0.1));
    await e.runUntil(T0 + 10 * HOUR);
    expect(decisions(e.records)).toEqual(['lifecycle:start@canary', 'checkpoint:rollback@canary']);
    const rb = e.records[1]!;
    expect(rb.weight).toEqual({ from: 10, to: 0 });
    expect(rb.metrics![0]).toMatchObject({ name: 'error-rate', value: 0.05, max: 0.01, verdict: 'fail', critical: true });
    expect(rb.reason).toContain('error-rate');
    expect(e.runner.state.status).toBe('rolled-back');
    expect(await e.router.read()).toEqual({ weight: 0, mirror: 0 });
  });

  it('a value between max and rollbackAbove holds the checkpoint instead of failing it', async () => {
    const p = plan(twoPhases, `
    - { name: error-rate, query: 'errors[{{window}}]', max: 0.01, rollbackAbove: 0.05 }`);
    const e = await engine(p, () => 0.02);
    await e.runUntil(T0 + 10 * HOUR);
    expect(e.records[1]!.decision).toBe('hold');
    expect(e.records[1]!.metrics![0]!.verdict).toBe('hold');
  });

  it('a nodata metric holds, is judged again after retryInterval over the span since the last pass, then pauses after inconclusiveLimit', async () => {
    const e = await engine(plan(`
  analysis: { retryInterval: 2m, inconclusiveLimit: 2 }
${twoPhases}`), (q) => (q.startsWith('latency') ? null : 0.001));
    await e.runUntil(T0 + 10 * HOUR);
    expect(decisions(e.records)).toEqual([
      'lifecycle:start@canary',
      'checkpoint:hold@canary',
      'checkpoint:hold@canary',
      'checkpoint:pause@canary',
    ]);
    const [, h1, h2, p] = e.records;
    expect(h1!.checkpoint).toMatchObject({ due: iso(T0 + 15 * MIN), from: iso(T0), window: '15m', attempt: 1 });
    expect(h2!.checkpoint).toMatchObject({ due: iso(T0 + 17 * MIN), from: iso(T0), window: '17m', attempt: 2 });
    expect(p!.checkpoint).toMatchObject({ due: iso(T0 + 19 * MIN), window: '19m', attempt: 3 });
    expect(h1!.metrics![1]).toMatchObject({ name: 'latency', value: null, verdict: 'nodata', reason: 'empty result' });
    expect(h1!.next).toEqual({ what: 'checkpoint 1/2 judged again', at: iso(T0 + 17 * MIN) });
    expect(e.runner.state.status).toBe('paused');
    expect(await e.router.read()).toEqual({ weight: 10, mirror: 0 });
  });

  it('onInconclusive: rollback rolls back instead of pausing', async () => {
    const e = await engine(plan(`
  analysis: { inconclusiveLimit: 0, onInconclusive: rollback }
${twoPhases}`), () => null);
    await e.runUntil(T0 + 10 * HOUR);
    expect(decisions(e.records)).toEqual(['lifecycle:start@canary', 'checkpoint:rollback@canary']);
  });

  it('a held checkpoint that then passes continues, and the next span starts where it passed', async () => {
    let bad = true;
    const e = await engine(plan(twoPhases), (q, at) => {
      if (at >= T0 + 16 * MIN) bad = false;
      return q.startsWith('latency') && bad ? null : 0.001;
    });
    await e.runUntil(T0 + 10 * HOUR);
    expect(decisions(e.records).slice(0, 4)).toEqual(['lifecycle:start@canary', 'checkpoint:hold@canary', 'checkpoint:continue@canary', 'checkpoint:advance@canary']);
    expect(e.records[2]!.checkpoint).toMatchObject({ due: iso(T0 + 16 * MIN), from: iso(T0), window: '16m' });
    expect(e.records[3]!.checkpoint).toMatchObject({ due: iso(T0 + 30 * MIN), from: iso(T0 + 16 * MIN), window: '14m' });
  });

  it('noData: fail on a metric makes missing data a failure (rollback)', async () => {
    const p = plan(twoPhases, `
    - { name: error-rate, query: 'errors[{{window}}]', max: 0.01, noData: fail }`);
    const e = await engine(p, () => null);
    await e.runUntil(T0 + 10 * HOUR);
    expect(decisions(e.records)).toEqual(['lifecycle:start@canary', 'checkpoint:rollback@canary']);
    expect(e.records[1]!.metrics![0]!.verdict).toBe('nodata');
  });

  it('per-phase thresholds override the metric thresholds in that phase only', async () => {
    const e = await engine(plan(`${noGuard}
  phases:
    - { name: canary, weight: 10, checkpoints: [15m] }
    - { name: full, weight: 100, checkpoints: [1h], thresholds: { error-rate: { max: 0.002 } } }`), (q) => (q.startsWith('errors') ? 0.005 : 0.1));
    await e.runUntil(T0 + 10 * HOUR);
    expect(decisions(e.records)).toEqual(['lifecycle:start@canary', 'checkpoint:advance@canary', 'checkpoint:rollback@full']);
    expect(e.records[2]!.metrics![0]).toMatchObject({ max: 0.002, verdict: 'fail' });
  });

  it('phase metrics limit what a phase judges', async () => {
    const e = await engine(plan(`
  phases:
    - { name: canary, weight: 10, checkpoints: [15m], metrics: [error-rate] }`), (q) => (q.startsWith('errors') ? 0.001 : null));
    await e.runUntil(T0 + HOUR);
    expect(e.records[1]!.decision).toBe('complete');
    expect(e.records[1]!.metrics!.map((m) => m.name)).toEqual(['error-rate']);
  });
});

describe('score: GO / GO WITH CAUTION / NO-GO', () => {
  const metrics = `
    - { name: a, query: 'a[{{window}}]', max: 1, weight: 17 }
    - { name: b, query: 'b[{{window}}]', max: 1, weight: 2 }
    - { name: c, query: 'c[{{window}}]', max: 1, weight: 1, critical: true }`;
  const spec = (onCaution: string) => `
  analysis: { score: { pass: 95, caution: 90 }, onCaution: ${onCaution}, inconclusiveLimit: 1 }${noGuard}
  phases:
    - { name: soft, weight: 10, checkpoints: [15m, 30m] }
    - { name: full, weight: 100, checkpoints: [1h] }`;
  const failing = (...names: string[]) => (q: string) => (names.includes(q[0]!) ? 2 : 0);

  it('score >= pass is GO and the rollout advances', async () => {
    const e = await engine(plan(spec('hold'), metrics), failing());
    await e.runUntil(T0 + 10 * HOUR);
    expect(e.records[1]).toMatchObject({ decision: 'continue', score: 100, outcome: 'GO' });
    expect(e.runner.state.status).toBe('complete');
  });

  it('caution continues at an intermediate checkpoint; at the last one onCaution: hold holds, then pauses', async () => {
    const e = await engine(plan(spec('hold'), metrics), failing('b'));
    await e.runUntil(T0 + 10 * HOUR);
    expect(decisions(e.records)).toEqual(['lifecycle:start@soft', 'checkpoint:continue@soft', 'checkpoint:hold@soft', 'checkpoint:pause@soft']);
    expect(e.records[1]).toMatchObject({ score: 90, outcome: 'GO WITH CAUTION' });
  });

  it('onCaution: advance advances at the last checkpoint', async () => {
    const e = await engine(plan(spec('advance'), metrics), failing('b'));
    await e.runUntil(T0 + 10 * HOUR);
    expect(decisions(e.records)).toEqual(['lifecycle:start@soft', 'checkpoint:continue@soft', 'checkpoint:advance@soft', 'checkpoint:complete@full']);
  });

  it('score below caution is NO-GO and rolls back', async () => {
    const e = await engine(plan(spec('advance'), metrics), failing('a'));
    await e.runUntil(T0 + 10 * HOUR);
    expect(e.records[1]).toMatchObject({ decision: 'rollback', score: 15, outcome: 'NO-GO' });
  });

  it('a failing critical metric rolls back whatever the score', async () => {
    const e = await engine(plan(spec('advance'), metrics), failing('c'));
    await e.runUntil(T0 + 10 * HOUR);
    expect(e.records[1]).toMatchObject({ decision: 'rollback', outcome: 'NO-GO' });
    expect(e.records[1]!.reason).toContain('critical');
  });

  it('missing data never scores: the checkpoint is inconclusive', async () => {
    const e = await engine(plan(spec('advance'), metrics), (q) => (q.startsWith('b') ? null : 0));
    await e.runUntil(T0 + 10 * HOUR);
    expect(e.records[1]).toMatchObject({ decision: 'hold', score: null });
  });
});

describe('replay', () => {
  it('the state rebuilt from the journal equals the live state', async () => {
    const e = await engine(plan(twoPhases), healthy);
    await e.runUntil(T0 + 40 * MIN);
    const rebuilt = replay(e.runner.id, await e.journal.read(e.runner.id));
    expect(rebuilt).toEqual(e.runner.state);
  });
});
