/**
 * The judges on the controller path (analysis.md sections 1-4), through the engine's own two
 * halves: `fetchSamples` asks a scripted provider what the plan says (rendered windows, range
 * arguments), `judgeSamples` turns the answers into verdicts and record entries; the guard's
 * strikes through `decideGuard`.
 */
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { engine, MIN, T0 } from '../helpers/engine.js';
import { applied, decide, replayed, started, type Value } from '../helpers/decide.js';
import { DecisionBuilder, decideCheckpoint, decideStart } from '../../src/engine/decide.js';
import { initialState } from '../../src/core/state.js';
import { formatWindow, parseDuration } from '../../src/plan/duration.js';
import { MemoryJournal } from '../../src/journal/memory-journal.js';
import type { LoadedPlan } from '../../src/plan/load.js';
import type { DecisionRecord } from '../../src/core/record.js';
import { simulate } from '../../src/host/simulate.js';
import { silentLogger } from '../../src/support/log.js';
import { planSchema } from '../../src/plan/schema.js';
import { planHash } from '../../src/plan/load.js';
import { ScriptedProvider } from '../helpers/scripted-provider.js';
import { checkpointSpan, fetchSamples, guardMetrics, guardSpan, judgeSamples, outcomeOf, recordedMetrics, type Evidence, type QuerySpan } from '../../src/engine/judge.js';
import { PrometheusError } from '../../src/metrics/errors.js';
import { dueDecision } from '../../src/engine/schedule.js';
import { decideGuard } from '../../src/engine/decide-guard.js';
import type { PlanContext } from '../../src/engine/decide.js';
import type { RolloutState } from '../../src/core/state.js';
import type { MetricsProvider, Sample } from '../../src/core/metrics-provider.js';

const SEC = 1000;

/**
 * A plan whose metrics are `metrics` (YAML list items), one phase of 10% with checkpoints at
 * 10m and 20m. Parsed by the schema alone: the validator's cross-field rules are plan-checks'.
 */
function planOf(
  metrics: string,
  guard = '{ interval: 5s, consecutive: 3 }',
  analysis = '',
  phases = `
    - { name: canary, weight: 10, checkpoints: [10m, 20m] }
    - { name: full, weight: 100, checkpoints: [1h] }`,
): PlanContext {
  const raw: unknown = parseYaml(`
apiVersion: rollgate.dev/v1alpha1
kind: RolloutPlan
metadata: { name: demo }
spec:
  revision: "r1"
  traffic: { router: file, file: { path: /tmp/unused.json } }
  metrics:
${metrics}
  guard: ${guard}
${analysis}
  phases:${phases}`);
  return { plan: planSchema.parse(raw), planHash: planHash(raw) };
}

/** A value, or a value by evaluation instant (a series). */
type Answer = Value | ((at: number) => Value);

/** Answers by the query's first word (the metric of `name{...}[window]`); absent: no data. */
function provider(values: Record<string, Answer>): ScriptedProvider {
  return new ScriptedProvider((query, at) => {
    const v = values[query.split(/[[{(]/)[0]!];
    if (v === undefined) return null;
    return (typeof v === 'function' ? v(at) : v) as number | null | Sample;
  });
}

/** The first checkpoint of a rollout started at T0: its span, fetched from `values`, judged. */
async function atCheckpoint(ctx: PlanContext, values: Record<string, Answer> | MetricsProvider, state: RolloutState = started(ctx)): Promise<Evidence> {
  const span = firstCheckpoint(ctx, state);
  const p = 'range' in values && typeof values.range === 'function' ? (values as MetricsProvider) : provider(values as Record<string, Answer>);
  return judgeSamples(ctx.plan, span.phase, await fetchSamples(p, ctx.plan, span), 'checkpoint');
}

/** The span of the first checkpoint due of `state`. */
function firstCheckpoint(ctx: PlanContext, state: RolloutState): QuerySpan {
  const due = dueDecision(ctx.plan, state, T0);
  if (due?.what !== 'checkpoint') throw new Error('no checkpoint due');
  return checkpointSpan(ctx.plan, state, due.checkpoint);
}

/** A guard tick at `now` of a rollout started at T0. */
async function atGuard(ctx: PlanContext, values: Record<string, Answer>, now = T0 + MIN, state: RolloutState = started(ctx)): Promise<Evidence> {
  const span = guardSpan(ctx.plan, state, now);
  return judgeSamples(ctx.plan, span.phase, await fetchSamples(provider(values), ctx.plan, span), 'guard');
}

const verdictAndWhy = (e: Evidence) => e.judged.map((m) => [m.verdict, m.why]);

describe('traffic floor (samples, minSamples)', () => {
  const ctx = planOf(`    - { name: errors, query: 'errors[{{window}}]', max: 0.01, samples: 'requests[{{window}}]', minSamples: 500, critical: true }`);

  it.each([
    ['below the floor: nodata whatever the value', { errors: 0.5, requests: 412 }, 'nodata', '412 samples in the window, 500 needed', 412],
    ['a fraction below is below (rounded down in the reason)', { errors: 0.001, requests: 499.6 }, 'nodata', '499 samples in the window, 500 needed', 499.6],
    ['at the floor: judged', { errors: 0.001, requests: 500 }, 'pass', '0.001 within max 0.01', 500],
    ['above the floor: judged, and can fail', { errors: 0.02, requests: 8000 }, 'fail', '0.02 > max 0.01', 8000],
    ['a samples query without data is nodata', { errors: 0.001 }, 'nodata', 'samples: empty result', null],
    ['the floor speaks before a missing value (0/0 on no traffic)', { requests: 3 }, 'nodata', '3 samples in the window, 500 needed', 3],
  ])('%s', async (_what, values, verdict, why, samples) => {
    const e = await atCheckpoint(ctx, values);
    expect(verdictAndWhy(e)).toEqual([[verdict, why]]);
    expect(e.metrics[0]).toMatchObject({ samples, minSamples: 500, value: (values as Record<string, number>).errors ?? null });
    if (verdict === 'nodata') expect(e.metrics[0]!.reason).toBe(why);
  });

  it('both queries are asked at the checkpoint instant over the checkpoint window', async () => {
    const p = provider({ errors: 0.001, requests: 900 });
    await fetchSamples(p, ctx.plan, firstCheckpoint(ctx, started(ctx)));
    expect(p.calls).toEqual([
      { query: 'errors[10m]', at: T0 + 10 * MIN },
      { query: 'requests[10m]', at: T0 + 10 * MIN },
    ]);
  });

  it('at the guard: below the floor is nodata, never a strike, and it does not clear the strikes of another metric', async () => {
    const two = planOf(`    - { name: errors, query: 'errors[{{window}}]', max: 0.01, samples: 'requests[{{window}}]', minSamples: 500, critical: true }
    - { name: latency, query: 'latency[{{window}}]', max: 0.5, critical: true }`);
    let state = started(two);
    const results: string[] = [];
    const tick = async (values: Record<string, Value>, i: number) => {
      const now = T0 + (i + 1) * 5 * SEC;
      const evidence = await atGuard(two, values, now, state);
      state = decide(two, state, now, (b) => {
        const t = decideGuard(b, evidence);
        results.push(`${t.result}:${t.strikes}`);
      }).state;
    };
    await tick({ errors: 0.5, requests: 900, latency: 0.1 }, 0); // a strike
    await tick({ errors: 0.5, requests: 20, latency: 0.1 }, 1); // errors below the floor, latency passes: kept
    await tick({ errors: 0.5, requests: 20 }, 2); // all nodata: kept
    await tick({ errors: 0.5, requests: 900, latency: 0.1 }, 3); // a second strike
    await tick({ errors: 0.001, requests: 900, latency: 0.1 }, 4); // a real pass clears
    expect(results).toEqual(['fail:1', 'pass:1', 'nodata:1', 'fail:2', 'pass:0']);
  });
});

describe('relative bounds (baseline, worse, tolerance, slack)', () => {
  const ctxWith = (fields: string) => planOf(`    - { name: p99, query: 'canary[{{window}}]', baseline: 'stable[{{window}}]', ${fields} }`);

  it.each([
    // tolerance alone: canary <= baseline x 1.2
    ['tolerance: on the bound passes', 'tolerance: 20%', 0.12, 0.1, 'pass', '0.12 <= bound 0.12 (baseline 0.1 +20%, x1.2)'],
    ['tolerance: just above fails', 'tolerance: 20%', 0.1201, 0.1, 'fail', '0.1201 > bound 0.12 (baseline 0.1 +20%, x1.2)'],
    // slack alone: canary <= baseline + 0.005
    ['slack: on the bound passes', 'slack: 0.005', 0.105, 0.1, 'pass', '0.105 <= bound 0.105 (baseline 0.1 +0.005, x1.05)'],
    ['slack: above fails', 'slack: 0.005', 0.106, 0.1, 'fail', '0.106 > bound 0.105 (baseline 0.1 +0.005, x1.06)'],
    // both: the looser applies
    ['both, tolerance looser (large baseline)', 'tolerance: 0.2, slack: 0.005', 0.119, 0.1, 'pass', '0.119 <= bound 0.12 (baseline 0.1 +20% or +0.005, x1.19)'],
    ['both, slack looser (small baseline)', 'tolerance: 0.2, slack: 0.005', 0.006, 0.002, 'pass', '0.006 <= bound 0.007 (baseline 0.002 +20% or +0.005, x3)'],
    ['both, above the looser fails', 'tolerance: 0.2, slack: 0.005', 0.0071, 0.002, 'fail', '0.0071 > bound 0.007 (baseline 0.002 +20% or +0.005, x3.55)'],
    // worse: lower (e.g. a success rate): canary >= min(b (1 - tol), b - slack)
    ['worse lower: within passes', 'worse: lower, tolerance: 10%', 0.9, 1, 'pass', '0.9 >= bound 0.9 (baseline 1 -10%, x0.9)'],
    ['worse lower: below fails', 'worse: lower, tolerance: 10%', 0.89, 1, 'fail', '0.89 < bound 0.9 (baseline 1 -10%, x0.89)'],
    ['worse lower, both: the looser (lower) bound', 'worse: lower, tolerance: 10%, slack: 0.2', 0.81, 1, 'pass', '0.81 >= bound 0.8 (baseline 1 -10% or -0.2, x0.81)'],
    // baseline 0: without slack any canary above 0 fails; with slack, up to the slack
    ['baseline 0 without slack: 0 passes', 'tolerance: 20%', 0, 0, 'pass', '0 <= bound 0 (baseline 0 +20%)'],
    ['baseline 0 without slack: above 0 fails', 'tolerance: 20%', 0.0001, 0, 'fail', '0.0001 > bound 0 (baseline 0 +20%)'],
    ['baseline 0 with slack: within the slack passes', 'tolerance: 20%, slack: 0.001', 0.0009, 0, 'pass', '0.0009 <= bound 0.001 (baseline 0 +20% or +0.001)'],
  ])('%s', async (_what, fields, canary, stable, verdict, why) => {
    const e = await atCheckpoint(ctxWith(fields), { canary, stable });
    expect(verdictAndWhy(e)).toEqual([[verdict, why]]);
  });

  it('the record carries the baseline, the bound that applied, the ratio (null at baseline 0), tolerance and slack', async () => {
    const e = await atCheckpoint(ctxWith('tolerance: 20%, slack: 0.005'), { canary: 0.11, stable: 0.1 });
    expect(e.metrics[0]).toEqual({
      name: 'p99',
      query: 'canary[10m]',
      value: 0.11,
      verdict: 'pass',
      critical: false,
      weight: 1,
      baseline: 0.1,
      bound: expect.closeTo(0.12, 12),
      ratio: expect.closeTo(1.1, 12),
      tolerance: 0.2,
      slack: 0.005,
    });
    const zero = await atCheckpoint(ctxWith('slack: 0.001'), { canary: 0.0005, stable: 0 });
    expect(zero.metrics[0]).toMatchObject({ baseline: 0, bound: 0.001, ratio: null, slack: 0.001 });
  });

  it('a baseline without data makes the metric nodata, with the baseline named', async () => {
    const e = await atCheckpoint(ctxWith('tolerance: 20%'), { canary: 0.1 });
    expect(verdictAndWhy(e)).toEqual([['nodata', 'baseline: empty result']]);
    expect(e.metrics[0]).toMatchObject({ value: 0.1, baseline: null, reason: 'baseline: empty result' });
    expect(e.metrics[0]!.bound).toBeUndefined();
  });

  it('a refused baseline query carries the bad-query problem (the rollout pauses)', async () => {
    const e = await atCheckpoint(ctxWith('tolerance: 20%'), { canary: 0.1, stable: { value: null, reason: 'bad query (HTTP 400): parse error', problem: 'bad-query' } });
    expect(e.metrics[0]).toMatchObject({ verdict: 'nodata', reason: 'baseline: bad query (HTTP 400): parse error', problem: 'bad-query' });
  });

  it('absolute bounds hold too: the worse verdict wins, and every failing bound is named', async () => {
    const both = ctxWith('tolerance: 20%, max: 0.5, rollbackAbove: 1');
    expect(verdictAndWhy(await atCheckpoint(both, { canary: 0.2, stable: 0.1 }))).toEqual([['fail', '0.2 > bound 0.12 (baseline 0.1 +20%, x2)']]);
    expect(verdictAndWhy(await atCheckpoint(both, { canary: 0.6, stable: 0.55 }))).toEqual([['hold', '0.6 > max 0.5, not above rollbackAbove 1']]);
    expect(verdictAndWhy(await atCheckpoint(both, { canary: 0.7, stable: 0.1 }))).toEqual([
      ['fail', '0.7 > max 0.5, not above rollbackAbove 1; 0.7 > bound 0.12 (baseline 0.1 +20%, x7)'],
    ]);
    expect(verdictAndWhy(await atCheckpoint(both, { canary: 0.11, stable: 0.1 }))).toEqual([['pass', '0.11 within max 0.5; 0.11 <= bound 0.12 (baseline 0.1 +20%, x1.1)']]);
  });

  it('at the guard the same bound applies, with no hold: above it is a strike', async () => {
    const ctx = planOf(`    - { name: p99, query: 'canary[{{window}}]', baseline: 'stable[{{window}}]', tolerance: 20%, max: 0.5, rollbackAbove: 1, critical: true }`);
    const e = await atGuard(ctx, { canary: 0.2, stable: 0.1 });
    expect(verdictAndWhy(e)).toEqual([['fail', '0.2 > bound 0.12 (baseline 0.1 +20%, x2)']]);
    expect(verdictAndWhy(await atGuard(ctx, { canary: 0.3, stable: 0.28 }))).toEqual([['pass', '0.3 within max 0.5; 0.3 <= bound 0.336 (baseline 0.28 +20%, x1.07)']]);
  });
});

describe('mann-whitney (test: mann-whitney)', () => {
  const ctxWith = (fields = '') =>
    planOf(`    - { name: latency, query: 'canary_p90[1m]', baseline: 'stable_p90[1m]', test: mann-whitney, critical: true${fields} }`);
  /** A series around `level` that differs at every point (no ties unless asked): 30 s steps from T0. */
  const around = (level: number, spread = 0.01) => (at: number) => level + spread * Math.sin((at - T0) / 30_000);

  it('range-queries both series over the checkpoint window [from, due] at step (30s by default)', async () => {
    const p = provider({ canary_p90: around(0.1), stable_p90: around(0.1) });
    const ranges: Array<[string, number, number, number]> = [];
    const spy: MetricsProvider = {
      instant: (q, at) => p.instant(q, at),
      range: (q, start, end, step) => {
        ranges.push([q, start, end, step]);
        return p.range(q, start, end, step);
      },
    };
    const ctx = ctxWith();
    await fetchSamples(spy, ctx.plan, firstCheckpoint(ctx, started(ctx)));
    expect(ranges).toEqual([
      ['canary_p90[1m]', T0, T0 + 10 * MIN, 30_000],
      ['stable_p90[1m]', T0, T0 + 10 * MIN, 30_000],
    ]);
    ranges.length = 0;
    const stepped = ctxWith(', step: 1m');
    await fetchSamples(spy, stepped.plan, firstCheckpoint(stepped, started(stepped)));
    expect(ranges.map((r) => r[3])).toEqual([60_000, 60_000]);
  });

  it('judges at level 1 - (1 - confidence) / K, K the phase checkpoints (2 here), and records every statistic', async () => {
    const e = await atCheckpoint(ctxWith(), { canary_p90: around(0.1), stable_p90: around(0.1) });
    const m = e.metrics[0]!;
    expect(m).toMatchObject({ test: 'mann-whitney', verdict: 'pass', level: 0.99, tolerance: 0, minSamples: 20, points: { canary: 21, baseline: 21 }, dropped: { canary: 0, baseline: 0 }, samples: 21 });
    expect(m.value).toBe(m.canaryMedian);
    for (const field of ['canaryMedian', 'baselineMedian', 'estimate', 'u', 'pValue', 'effectFloor'] as const) expect(typeof m[field], field).toBe('number');
    expect(m.interval).toEqual({ lower: expect.any(Number), upper: expect.any(Number) });
    const at95 = await atCheckpoint(ctxWith(', confidence: 0.9'), { canary_p90: around(0.1), stable_p90: around(0.1) });
    expect(at95.metrics[0]!.level).toBeCloseTo(0.95, 12);
  });

  it('a shift beyond the effect floor fails; within the floor passes; worse lower mirrors it', async () => {
    const shifted = { canary_p90: around(0.15), stable_p90: around(0.1) };
    expect((await atCheckpoint(ctxWith(), shifted)).judged[0]!.verdict).toBe('fail');
    expect((await atCheckpoint(ctxWith(', tolerance: 60%'), shifted)).judged[0]!.verdict).toBe('pass');
    expect((await atCheckpoint(ctxWith(', worse: lower'), shifted)).judged[0]!.verdict).toBe('pass');
    expect((await atCheckpoint(ctxWith(', worse: lower'), { canary_p90: around(0.05), stable_p90: around(0.1) })).judged[0]!.verdict).toBe('fail');
  });

  it('NaN and missing points are dropped and counted; too few left is nodata', async () => {
    // 21 points per side; every third canary point is NaN, every fourth baseline point empty.
    const nth = (at: number) => Math.round((at - T0) / 30_000);
    const canary = (at: number) => (nth(at) % 3 === 0 ? NaN : around(0.1)(at));
    const stable = (at: number) => (nth(at) % 4 === 0 ? null : around(0.1)(at));
    const e = await atCheckpoint(ctxWith(', minSamples: 10'), { canary_p90: canary, stable_p90: stable });
    expect(e.metrics[0]).toMatchObject({ verdict: 'pass', points: { canary: 14, baseline: 15 }, dropped: { canary: 7, baseline: 6 } });
    const few = await atCheckpoint(ctxWith(), { canary_p90: canary, stable_p90: stable });
    expect(few.metrics[0]).toMatchObject({ verdict: 'nodata', points: { canary: 14, baseline: 15 }, samples: 14, minSamples: 20 });
    expect(few.metrics[0]!.reason).toBe(few.judged[0]!.why);
  });

  it('ties everywhere (the same constant on both sides) pass', async () => {
    const e = await atCheckpoint(ctxWith(), { canary_p90: 0.1, stable_p90: 0.1 });
    expect(e.metrics[0]).toMatchObject({ verdict: 'pass', canaryMedian: 0.1, baselineMedian: 0.1, estimate: 0 });
  });

  it('a failed range query is nodata naming the side, a refused one carries bad-query', async () => {
    const failing = (kind: 'timeout' | 'bad-query', side: string): MetricsProvider => {
      const p = provider({ canary_p90: around(0.1), stable_p90: around(0.1) });
      return {
        instant: (q, at) => p.instant(q, at),
        range: (q, start, end, step) => (q.startsWith(side) ? Promise.reject(new PrometheusError(`${kind} of ${side}`, { kind })) : p.range(q, start, end, step)),
      };
    };
    const timeout = await atCheckpoint(ctxWith(), failing('timeout', 'stable'));
    expect(timeout.metrics[0]).toMatchObject({ verdict: 'nodata', reason: 'baseline: timeout of stable' });
    expect(timeout.metrics[0]!.problem).toBeUndefined();
    const refused = await atCheckpoint(ctxWith(), failing('bad-query', 'canary'));
    expect(refused.metrics[0]).toMatchObject({ verdict: 'nodata', reason: 'canary: bad-query of canary', problem: 'bad-query' });
  });

  it('anything else a range query throws propagates (simulate ends on a history that is gone)', async () => {
    const gone: MetricsProvider = { instant: async () => ({ value: 1 }), range: () => Promise.reject(new Error('history unavailable')) };
    await expect(atCheckpoint(ctxWith(), gone)).rejects.toThrow('history unavailable');
  });

  it('the guard never runs it: not when critical, not when named in guard.metrics', () => {
    expect(guardMetrics(ctxWith().plan)).toEqual([]);
    const named = planOf(
      `    - { name: latency, query: 'canary_p90[1m]', baseline: 'stable_p90[1m]', test: mann-whitney }
    - { name: errors, query: 'errors[{{window}}]', max: 0.01 }`,
      '{ interval: 5s, metrics: [latency, errors] }',
    );
    expect(guardMetrics(named.plan).map((m) => m.name)).toEqual(['errors']);
  });
});

describe('sequential test (counts)', () => {
  const COUNTS = `counts: { canary: { bad: 'canary_bad[{{window}}]', total: 'canary_total[{{window}}]' }, baseline: { bad: 'stable_bad[{{window}}]', total: 'stable_total[{{window}}]' } }`;
  const ctxWith = (fields = '', guard?: string, analysis?: string) =>
    planOf(`    - { name: errors, ${COUNTS}, test: sequential, critical: true${fields} }`, guard, analysis);

  /**
   * Counts over the window the query names: `canaryRps` and `stableRps` requests per second,
   * failing at `canaryRate` and `stableRate`.
   */
  function countsProvider(o: { canaryRps: number; stableRps: number; canaryRate: number; stableRate: number }): ScriptedProvider {
    return new ScriptedProvider((query) => {
      const [, name, window] = /^(\w+)\[(\w+)\]$/.exec(query)!;
      const seconds = parseDuration(window!)! / 1000;
      const canary = o.canaryRps * seconds;
      const stable = o.stableRps * seconds;
      return { canary_total: canary, canary_bad: canary * o.canaryRate, stable_total: stable, stable_bad: stable * o.stableRate }[name!]!;
    });
  }
  const judgeWith = async (ctx: PlanContext, p: MetricsProvider, span: QuerySpan, mode: 'checkpoint' | 'guard' = 'checkpoint') =>
    judgeSamples(ctx.plan, span.phase, await fetchSamples(p, ctx.plan, span), mode);

  it('counts are asked over the phase since its split was applied: at each checkpoint and at guard ticks alike', async () => {
    const ctx = ctxWith();
    // Started at T0, the split applied 7 s later: the phase (and its checkpoints) start there.
    const state = applied(decide(ctx, initialState('default/demo'), T0, (b) => decideStart(b)).state, T0 + 7_000);
    const p = provider({ canary_bad: 1, canary_total: 500, stable_bad: 10, stable_total: 5000 });
    await fetchSamples(p, ctx.plan, guardSpan(ctx.plan, state, T0 + MIN));
    expect(p.calls).toEqual(['canary_bad', 'canary_total', 'stable_bad', 'stable_total'].map((q) => ({ query: `${q}[53s]`, at: T0 + MIN })));
    p.calls.length = 0;
    await fetchSamples(p, ctx.plan, firstCheckpoint(ctx, state));
    expect(p.calls.map((c) => [c.query, c.at])).toEqual(['canary_bad', 'canary_total', 'stable_bad', 'stable_total'].map((q) => [`${q}[10m]`, T0 + 7_000 + 10 * MIN]));
    // The second checkpoint judges the whole phase (20m), not the 10 minutes since the first.
    const firstDue = dueDecision(ctx.plan, state, T0);
    if (firstDue?.what !== 'checkpoint') throw new Error('no checkpoint due');
    const passing = await judgeWith(ctx, countsProvider({ canaryRps: 10, stableRps: 90, canaryRate: 0.01, stableRate: 0.01 }), firstCheckpoint(ctx, state));
    const second = decide(ctx, state, firstDue.at, (b) => decideCheckpoint(b, firstDue.checkpoint, passing)).state;
    expect(second.checkpointIndex).toBe(1);
    p.calls.length = 0;
    const due = dueDecision(ctx.plan, second, T0);
    if (due?.what !== 'checkpoint') throw new Error('no checkpoint due');
    const span = checkpointSpan(ctx.plan, second, due.checkpoint);
    expect(span.windowMs).toBe(10 * MIN);
    await fetchSamples(p, ctx.plan, span);
    expect(p.calls[0]).toEqual({ query: 'canary_bad[20m]', at: T0 + 7_000 + 20 * MIN });
    // A tick less than a second after the split: the window is 1 s at least.
    p.calls.length = 0;
    await fetchSamples(p, ctx.plan, guardSpan(ctx.plan, state, T0 + 7_300));
    expect(p.calls[0]!.query).toBe('canary_bad[1s]');
  });

  it('while the rollout waits to begin the next phase, the guard counts over the live split since it was applied', async () => {
    const phases = `
    - { name: canary, weight: 10, checkpoints: [10m] }
    - { name: full, weight: 100, approval: true, checkpoints: [1h] }`;
    const ctx = planOf(`    - { name: errors, ${COUNTS}, test: sequential, critical: true }`, '{ interval: 5s, consecutive: 3 }', '', phases);
    const state = applied(decide(ctx, initialState('default/demo'), T0, (b) => decideStart(b)).state, T0 + 7_000);
    const due = dueDecision(ctx.plan, state, T0);
    if (due?.what !== 'checkpoint') throw new Error('no checkpoint due');
    const passing = await judgeWith(ctx, countsProvider({ canaryRps: 10, stableRps: 90, canaryRate: 0.01, stableRate: 0.01 }), firstCheckpoint(ctx, state));
    const waiting = decide(ctx, state, due.at, (b) => decideCheckpoint(b, due.checkpoint, passing)).state;
    expect(waiting).toMatchObject({ status: 'waiting', waitingFor: 'approval', phaseStartedAt: null, weight: 10 });
    const p = provider({ canary_bad: 1, canary_total: 500, stable_bad: 10, stable_total: 5000 });
    const e = judgeSamples(ctx.plan, ctx.plan.spec.phases[0]!, await fetchSamples(p, ctx.plan, guardSpan(ctx.plan, waiting, T0 + 7_000 + 15 * MIN)), 'guard');
    expect(p.calls[0]).toEqual({ query: 'canary_bad[15m]', at: T0 + 7_000 + 15 * MIN });
    expect(e.metrics[0]!.verdict).not.toBe('nodata');
  });

  it("before the phase's split is applied it is nodata, and nothing is asked", async () => {
    const ctx = ctxWith();
    const decidedOnly = decide(ctx, initialState('default/demo'), T0, (b) => decideStart(b)).state;
    const p = provider({});
    const e = await judgeWith(ctx, p, guardSpan(ctx.plan, decidedOnly, T0 + 5_000), 'guard');
    expect(p.calls).toEqual([]);
    expect(e.metrics[0]).toMatchObject({ verdict: 'nodata', reason: "the phase's split is not applied yet", test: 'sequential' });
  });

  it.each([
    ['no regression: pass', { canaryRps: 10, stableRps: 90, canaryRate: 0.01, stableRate: 0.01 }, 'pass'],
    ['x3 the baseline rate: fail', { canaryRps: 10, stableRps: 90, canaryRate: 0.03, stableRate: 0.01 }, 'fail'],
    ['unequal split 5/95, same rate: pass', { canaryRps: 5, stableRps: 95, canaryRate: 0.01, stableRate: 0.01 }, 'pass'],
    ['unequal split 5/95, x3: fail', { canaryRps: 5, stableRps: 95, canaryRate: 0.03, stableRate: 0.01 }, 'fail'],
    ['below the floor (100 canary requests by default): nodata', { canaryRps: 0.1, stableRps: 90, canaryRate: 0.5, stableRate: 0.01 }, 'nodata'],
  ])('%s', async (_what, o, verdict) => {
    const ctx = ctxWith();
    const e = await judgeWith(ctx, countsProvider(o), firstCheckpoint(ctx, started(ctx)));
    expect(e.metrics[0]!.verdict).toBe(verdict);
  });

  it('the record carries every number of the test; value is the canary rate, query the canary bad query', async () => {
    const ctx = ctxWith(', tolerance: 10%, alpha: 0.05, minSamples: 1000');
    const e = await judgeWith(ctx, countsProvider({ canaryRps: 10, stableRps: 90, canaryRate: 0.03, stableRate: 0.01 }), firstCheckpoint(ctx, started(ctx)));
    const m = e.metrics[0]!;
    expect(m).toMatchObject({
      name: 'errors',
      query: 'canary_bad[10m]',
      value: 0.03,
      verdict: 'fail',
      test: 'sequential',
      x: 180,
      n_c: 6000,
      y: 540,
      n_b: 54000,
      samples: 6000,
      minSamples: 1000,
      canaryRate: 0.03,
      baselineRate: 0.01,
      alpha: 0.05,
      threshold: 20,
      tolerance: 0.1,
    });
    expect(m.ratio).toBeCloseTo(3, 12);
    expect(m.e).toBeGreaterThanOrEqual(20);
    expect(m.logE).toBeCloseTo(Math.log(m.e!), 6);
    expect(m.interval!.lower).toBeGreaterThan(1.1);
    expect(e.judged[0]!.why).toMatch(/^e /);
  });

  it('below the floor: nodata with the canary count in the record', async () => {
    const ctx = ctxWith(', minSamples: 1000');
    const e = await judgeWith(ctx, countsProvider({ canaryRps: 0.5, stableRps: 90, canaryRate: 0.01, stableRate: 0.01 }), firstCheckpoint(ctx, started(ctx)));
    expect(e.metrics[0]).toMatchObject({ verdict: 'nodata', samples: 300, n_c: 300, minSamples: 1000 });
    expect(e.metrics[0]!.reason).toBe(e.judged[0]!.why);
    expect(e.judged[0]!.why).toMatch(/300.*1000/);
  });

  it('any count without data is nodata naming which; a refused one carries bad-query', async () => {
    const ctx = ctxWith();
    const span = firstCheckpoint(ctx, started(ctx));
    const e = await judgeWith(ctx, provider({ canary_bad: 1, canary_total: 500 }), span);
    expect(e.metrics[0]).toMatchObject({ verdict: 'nodata', reason: 'baseline bad: empty result, baseline total: empty result' });
    const refused = await judgeWith(ctx, provider({ canary_bad: { value: null, reason: 'bad query (HTTP 400)', problem: 'bad-query' }, canary_total: 500, stable_bad: 1, stable_total: 900 }), span);
    expect(refused.metrics[0]).toMatchObject({ verdict: 'nodata', reason: 'canary bad: bad query (HTTP 400)', problem: 'bad-query' });
  });

  it('require: proof holds until "not worse" is proven, and the holds count against inconclusiveLimit; at the guard it is no strike', async () => {
    const ctx = ctxWith(', require: proof, tolerance: 10%', undefined, '  analysis: { inconclusiveLimit: 1, retryInterval: 1m }');
    const same = { canaryRps: 1, stableRps: 19, canaryRate: 0.01, stableRate: 0.01 };
    const e = await judgeWith(ctx, countsProvider(same), firstCheckpoint(ctx, started(ctx)));
    expect(e.metrics[0]).toMatchObject({ verdict: 'hold', test: 'sequential' });
    expect(typeof e.metrics[0]!.eProof).toBe('number');
    expect(outcomeOf(ctx.plan, e).outcome).toBe('inconclusive');
    expect((await judgeWith(ctx, countsProvider(same), guardSpan(ctx.plan, started(ctx), T0 + 10 * MIN), 'guard')).metrics[0]!.verdict).toBe('pass');
    // Through the engine: held at 10m, again a minute later, then paused (inconclusiveLimit 1).
    const run = await engine(loaded(ctx), () => null, { metrics: countsProvider(same) });
    await run.runUntil(T0 + 30 * MIN);
    expect(run.records.map((r) => `${r.kind}:${r.decision}`)).toEqual(['lifecycle:start', 'checkpoint:hold', 'checkpoint:pause']);
    expect(run.records[2]!.reason).toMatch(/2 inconclusive judgements in a row \(inconclusiveLimit 1\)/);
  });

  it('at the guard a sequential fail rolls back at once, while a plain metric needs `consecutive`', async () => {
    const ctx = planOf(
      `    - { name: errors, ${COUNTS}, test: sequential, critical: true }
    - { name: latency, query: 'latency[{{window}}]', max: 0.5, critical: true }`,
      '{ interval: 5s, consecutive: 3 }',
    );
    const state = started(ctx);
    const tick = async (p: MetricsProvider, now: number) => {
      const evidence = await judgeWith(ctx, p, guardSpan(ctx.plan, state, now), 'guard');
      const b = new DecisionBuilder(ctx, state, now);
      return { tick: decideGuard(b, evidence), entries: b.entries };
    };
    const withLatency = (latency: number, canaryRate: number) =>
      new ScriptedProvider((q, at) => (q.startsWith('latency') ? latency : countsProvider({ canaryRps: 10, stableRps: 90, canaryRate, stableRate: 0.01 }).script(q, at)));
    const plainOnly = await tick(withLatency(0.9, 0.01), T0 + 5 * MIN);
    expect(plainOnly.tick).toEqual({ result: 'fail', strikes: 1 });
    expect(plainOnly.entries.map((e) => ('strikes' in e ? `strikes=${e.strikes}` : 'record'))).toEqual(['strikes=1']);
    const regressed = await tick(withLatency(0.1, 0.05), T0 + 5 * MIN);
    expect(regressed.tick).toEqual({ result: 'fail', strikes: 1 });
    const rollback = regressed.entries[0] as DecisionRecord;
    expect(rollback).toMatchObject({ kind: 'guard', decision: 'rollback', weight: { from: 10, to: 0 } });
    expect(rollback.reason).toMatch(/^guard: errors: e .* in one evaluation \(errors: the sequential test is anytime-valid, guard.consecutive does not apply; interval 5s, counts since the phase's split was applied\)$/);
  });

  it("at the guard a passing sequential metric's interval is left out; every guard record (a plain metric's rollback, a pause on a refused query) carries it", async () => {
    const ctx = planOf(
      `    - { name: errors, ${COUNTS}, test: sequential, critical: true }
    - { name: latency, query: 'latency[{{window}}]', max: 0.5, critical: true }`,
      '{ interval: 5s, consecutive: 1 }',
    );
    const state = started(ctx);
    const now = T0 + 5 * MIN;
    const span = guardSpan(ctx.plan, state, now);
    const healthy = countsProvider({ canaryRps: 10, stableRps: 90, canaryRate: 0.011, stableRate: 0.01 });
    const withLatency = (latency: Value) => new ScriptedProvider((q, at) => (q.startsWith('latency') ? latency : healthy.script(q, at)));
    // The checkpoint rules on the same answers: what a record of this evaluation must carry.
    const fetched = await fetchSamples(withLatency(0.1), ctx.plan, span);
    const full = judgeSamples(ctx.plan, span.phase, fetched, 'checkpoint').metrics[0]!;
    expect(full.verdict).toBe('pass');
    expect(full.interval).toEqual({ lower: expect.any(Number), upper: expect.any(Number) });
    const passing = judgeSamples(ctx.plan, span.phase, fetched, 'guard');
    expect(passing.metrics[0]!.interval).toBeUndefined();
    const { interval: _left, ...rest } = full;
    expect(passing.metrics[0]).toEqual(rest);
    expect(recordedMetrics(passing.metrics)[0]).toEqual(full);

    const tick = async (latency: Value) => {
      const b = new DecisionBuilder(ctx, state, now);
      decideGuard(b, await judgeWith(ctx, withLatency(latency), span, 'guard'));
      return b.records;
    };
    const [rollback] = await tick(0.9);
    expect(rollback).toMatchObject({ kind: 'guard', decision: 'rollback' });
    expect(rollback!.metrics![0]).toEqual(full);
    const [pause] = await tick({ value: null, reason: 'bad query (HTTP 400)', problem: 'bad-query' });
    expect(pause).toMatchObject({ kind: 'guard', decision: 'pause' });
    expect(pause!.metrics![0]).toEqual(full);
  });

  it("end to end on the runner: the guard rolls back at its first failing evaluation, every number in the journal; a restart mid-phase judges the same", async () => {
    const ctx = ctxWith('', '{ interval: 5s, consecutive: 3 }');
    const regression = countsProvider({ canaryRps: 10, stableRps: 90, canaryRate: 0.03, stableRate: 0.01 });
    const results: string[] = [];
    const run = await engine(loaded(ctx), () => null, { metrics: regression, observer: { onGuard: (_r, result, strikes) => results.push(`${result}:${strikes}`) } });
    await run.runUntil(T0 + 10 * MIN);
    expect(run.records.map((r) => `${r.kind}:${r.decision}`)).toEqual(['lifecycle:start', 'guard:rollback']);
    expect(results.slice(0, -1).every((r) => r !== 'fail:1')).toBe(true);
    expect(results.at(-1)).toBe('fail:1');
    const rollback = run.records[1]!;
    const at = Date.parse(rollback.at);
    const m = rollback.metrics![0]!;
    const seconds = (at - T0) / 1000;
    expect(m).toMatchObject({
      name: 'errors',
      query: `canary_bad[${formatWindow(at - T0)}]`,
      verdict: 'fail',
      test: 'sequential',
      x: Math.round(10 * seconds * 0.03),
      n_c: 10 * seconds,
      y: Math.round(90 * seconds * 0.01),
      n_b: 90 * seconds,
      samples: 10 * seconds,
      minSamples: 100,
      alpha: 0.01,
      threshold: 100,
      tolerance: 0,
    });
    for (const field of ['canaryRate', 'baselineRate', 'ratio', 'e', 'logE'] as const) expect(typeof m[field], field).toBe('number');
    expect(m.e).toBeGreaterThanOrEqual(100);
    expect(m.interval).toBeDefined();
    // The journal holds the same record (what `rollgate history` shows).
    const journalled = (await run.journal.read('default/demo')).find((e) => 'seq' in e && e.decision === 'rollback');
    expect(journalled).toEqual(rollback);

    // A restart half way to the rollback: the same journal, a new runner, the same judgement.
    const journal = new MemoryJournal();
    const first = await engine(loaded(ctx), () => null, { metrics: regression, journal });
    await first.runUntil(T0 + (at - T0) / 2);
    expect(first.records.map((r) => r.decision)).toEqual(['start']);
    const second = await engine(loaded(ctx), () => null, { metrics: regression, journal, from: T0 + (at - T0) / 2 });
    await second.runUntil(T0 + 10 * MIN);
    expect(second.records).toEqual([rollback]);
    expect(replayed(ctx, await journal.read('default/demo')).status).toBe('rolled-back');
  });
});

describe('simulate (virtual time over history) with the judges', () => {
  it("runs a sequential guard metric (instant queries, the plain guard metric still prefetched) and mann-whitney checkpoints (range queries on the history)", async () => {
    const ctx = planOf(
      `    - { name: errors, counts: { canary: { bad: 'canary_bad[{{window}}]', total: 'canary_total[{{window}}]' }, baseline: { bad: 'stable_bad[{{window}}]', total: 'stable_total[{{window}}]' } }, test: sequential, critical: true }
    - { name: up, query: 'up_ratio[{{window}}]', min: 0.9, critical: true }
    - { name: latency, query: 'canary_p90[1m]', baseline: 'stable_p90[1m]', test: mann-whitney, tolerance: 10%, step: 15s }`,
      '{ interval: 5s, consecutive: 2 }',
      '',
      // A short first phase: its counts' windows (5s, 10s, ...) come back in the second one.
      `
    - { name: canary, weight: 10, checkpoints: [5m] }
    - { name: full, weight: 100, checkpoints: [30m] }`,
    );
    const ranges: string[] = [];
    const history = new ScriptedProvider((query, at) => {
      const counts = /^(\w+)\[(\w+)\]$/.exec(query);
      if (query.startsWith('up_ratio')) return 1;
      if (query.startsWith('canary_p90') || query.startsWith('stable_p90')) return 0.1 + 0.01 * Math.sin((at - T0) / 30_000);
      const seconds = parseDuration(counts![2]!)! / 1000;
      return { canary_total: 10 * seconds, canary_bad: 0.1 * seconds, stable_total: 90 * seconds, stable_bad: 0.9 * seconds }[counts![1]!]!;
    });
    const provider: MetricsProvider = {
      instant: (q, at) => history.instant(q, at),
      range: (q, start, end, step) => {
        ranges.push(q);
        return history.range(q, start, end, step);
      },
    };
    const until = T0 + 2 * 3_600_000;
    const result = await simulate({ ...loaded(ctx), plan: ctx.plan }, { from: T0, until, provider, log: silentLogger(), dataNow: () => until + 3_600_000 });
    expect(result.exitCode).toBe(0);
    const checkpoints = result.records.filter((r) => r.kind === 'checkpoint');
    expect(checkpoints.length).toBeGreaterThan(0);
    const latency = checkpoints[0]!.metrics!.find((m) => m.name === 'latency')!;
    expect(latency).toMatchObject({ test: 'mann-whitney', verdict: 'pass', points: { canary: 21, baseline: 21 }, level: 0.98 });
    expect(checkpoints[0]!.metrics!.find((m) => m.name === 'errors')).toMatchObject({ test: 'sequential', verdict: 'pass', n_c: 3000 });
    // Mann-Whitney's two series per checkpoint as range queries; the guard's plain metric in a few chunks.
    expect(ranges.filter((q) => q.startsWith('canary_p90'))).toHaveLength(checkpoints.length);
    expect(ranges.filter((q) => q.startsWith('up_ratio')).length).toBeLessThanOrEqual(3);
    // Every guard tick asked the four counts with its own window as instant queries, never a
    // range (a window's text comes back in the next phase, not at the next tick).
    const countAsks = history.calls.filter((c) => c.query.startsWith('canary_bad'));
    expect(countAsks.length).toBeGreaterThan(400);
    expect(ranges.filter((q) => /^(canary|stable)_(bad|total)/.test(q))).toEqual([]);
    expect(result.prefetch.cachedAnswers).toBeGreaterThan(countAsks.length / 2);
  });
});

/** A test plan context as the engine helper wants it. */
function loaded(ctx: PlanContext): LoadedPlan {
  return { plan: ctx.plan, file: 'test.yaml', hash: ctx.planHash, document: 0 };
}
