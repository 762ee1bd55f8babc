/**
 * The judges on the controller path (analysis.md sections 1-4), through the engine's own two
 * halves: `fetchSamples` asks a scripted provider what the plan says (rendered windows, range
 * arguments), `judgeSamples` turns the answers into verdicts and record entries; the guard's
 * strikes through `decideGuard`.
 */
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { MIN, T0 } from '../helpers/engine.js';
import { decide, started, type Value } from '../helpers/decide.js';
import { planSchema } from '../../src/plan/schema.js';
import { planHash } from '../../src/plan/load.js';
import { ScriptedProvider } from '../helpers/scripted-provider.js';
import { checkpointSpan, fetchSamples, guardMetrics, guardSpan, judgeSamples, type Evidence, type QuerySpan } from '../../src/engine/judge.js';
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
function planOf(metrics: string, guard = '{ interval: 5s, consecutive: 3 }'): PlanContext {
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
  phases:
    - { name: canary, weight: 10, checkpoints: [10m, 20m] }
    - { name: full, weight: 100, checkpoints: [1h] }`);
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
