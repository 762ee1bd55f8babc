/**
 * "Judge samples", the pure half of src/engine/judge.ts: samples + plan + the phase's
 * thresholds -> metric results, verdicts and the checkpoint outcome. The spans (what is asked,
 * over which window, under which phase) are pure too; only fetchSamples asks a provider.
 */
import { describe, expect, it } from 'vitest';
import { demoPlan, MIN, T0 } from '../helpers/engine.js';
import { applied, ctxOf, decide, samplesOf, started, type Value } from '../helpers/decide.js';
import { checkpointSpan, guardSpan, judgeSamples, outcomeOf } from '../../src/engine/judge.js';
import { decideManual } from '../../src/engine/decide.js';
import { dueDecision } from '../../src/engine/schedule.js';

const ctx = ctxOf(
  demoPlan(`
  metrics:
    - { name: error-rate, query: 'errors[{{window}}]', max: 0.01, rollbackAbove: 0.05, critical: true }
    - { name: latency, query: 'latency[{{window}}]', max: 0.5, weight: 2 }
  guard: { interval: 10s, window: 2m }
  phases:
    - { name: canary, weight: 10, checkpoints: [30m], thresholds: { latency: { max: 0.8 } } }
    - { name: full, weight: 100, approval: true, checkpoints: [1h] }`),
);

const canary = started(ctx);
const pending = (() => {
  const due = dueDecision(ctx.plan, canary, T0);
  if (due?.what !== 'checkpoint') throw new Error('no checkpoint due');
  return due.checkpoint;
})();

function judge(mode: 'checkpoint' | 'guard', values: Record<string, Value>) {
  const span = mode === 'checkpoint' ? checkpointSpan(ctx.plan, canary, pending) : guardSpan(ctx.plan, canary, T0 + MIN);
  return judgeSamples(ctx.plan, span.phase, samplesOf(ctx, span, values), mode);
}

describe('spans', () => {
  it('a checkpoint: the phase metrics over [from, due], rendered with that window', () => {
    const span = checkpointSpan(ctx.plan, canary, pending);
    expect({ phase: span.phase.name, metrics: span.metrics.map((m) => m.name), at: span.at, windowMs: span.windowMs, scope: span.scope }).toEqual({
      phase: 'canary',
      metrics: ['error-rate', 'latency'],
      at: T0 + 30 * MIN,
      windowMs: 30 * MIN,
      scope: { phase: 'canary', weight: 10 },
    });
  });

  it('a guard tick: the critical metrics over guard.window; while waiting for a phase, the thresholds of the live one', () => {
    expect(guardSpan(ctx.plan, canary, T0 + MIN)).toMatchObject({ phase: { name: 'canary' }, at: T0 + MIN, windowMs: 2 * MIN });
    expect(guardSpan(ctx.plan, canary, T0).metrics.map((m) => m.name)).toEqual(['error-rate']);
    const waiting = { ...canary, status: 'waiting' as const, phaseIndex: 1, phaseName: 'full', phaseStartedAt: null };
    expect(guardSpan(ctx.plan, waiting, T0).phase.name).toBe('canary');
    // A phase begun but not yet applied: still the previous phase's split is live.
    const promoted = decide(ctx, { ...canary, status: 'waiting', phaseIndex: 1, phaseName: 'full', waitingFor: 'approval' }, T0, (b) => decideManual(b, 'promote', undefined)).state;
    expect(guardSpan(ctx.plan, promoted, T0).phase.name).toBe('full');
    expect(guardSpan(ctx.plan, applied(promoted, T0), T0).phase.name).toBe('full');
  });
});

describe('judgeSamples', () => {
  it.each([
    ['checkpoint', { 'error-rate': 0.001, latency: 0.7 }, ['pass', 'pass'], 'pass'],
    ['checkpoint', { 'error-rate': 0.02, latency: 0.1 }, ['hold', 'pass'], 'inconclusive'],
    ['checkpoint', { 'error-rate': 0.06, latency: 0.1 }, ['fail', 'pass'], 'fail'],
    ['checkpoint', { 'error-rate': 0.001, latency: 0.9 }, ['pass', 'fail'], 'fail'],
    ['checkpoint', { 'error-rate': null, latency: 0.1 }, ['nodata', 'pass'], 'inconclusive'],
    ['guard', { 'error-rate': 0.02 }, ['pass'], null],
    ['guard', { 'error-rate': 0.06 }, ['fail'], null],
    ['guard', { 'error-rate': null }, ['nodata'], null],
  ] as const)('%s %j -> %j (%s)', (mode, values, verdicts, outcome) => {
    const e = judge(mode, values);
    expect(e.metrics.map((m) => m.verdict)).toEqual(verdicts);
    expect(e.judged.map((m) => m.verdict)).toEqual(verdicts);
    if (outcome) expect(outcomeOf(ctx.plan, e).outcome).toBe(outcome);
  });

  it('a result carries the rendered query, the value, the thresholds in force (the phase override) and the weight', () => {
    const e = judge('checkpoint', { 'error-rate': 0.001, latency: 0.7 });
    expect(e.metrics).toEqual([
      { name: 'error-rate', query: 'errors[30m]', value: 0.001, max: 0.01, rollbackAbove: 0.05, verdict: 'pass', critical: true, weight: 1 },
      { name: 'latency', query: 'latency[30m]', value: 0.7, max: 0.8, verdict: 'pass', critical: false, weight: 2 },
    ]);
    expect(e.judged[1]).toMatchObject({ why: '0.7 within max 0.8', noData: 'inconclusive' });
  });

  it('missing data keeps its reason, and a refused query its problem', () => {
    const e = judge('checkpoint', { 'error-rate': { value: null, reason: 'bad query (HTTP 400): parse error', problem: 'bad-query' }, latency: null });
    expect(e.metrics.map((m) => [m.value, m.reason, m.problem])).toEqual([
      [null, 'bad query (HTTP 400): parse error', 'bad-query'],
      [null, 'empty result', undefined],
    ]);
    expect(e.judged.map((m) => m.why)).toEqual(['bad query (HTTP 400): parse error', 'empty result']);
  });
});
