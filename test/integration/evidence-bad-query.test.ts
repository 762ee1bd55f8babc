/**
 * Defect 2 of issue 7, at run time: a query a real Prometheus refuses (HTTP 400: a syntax or
 * type error) is a plan problem. At a checkpoint and at a guard tick the rollout pauses at
 * once, with the metric, the rendered query and Prometheus' error in the record; the refusal
 * is logged at error level and counted in /metrics. The plans are loaded valid and the query
 * is broken afterwards, as in a plan loaded before queries were parsed at load time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrometheusProvider } from '../../src/metrics/prometheus.js';
import { createLogger } from '../../src/support/log.js';
import { ControllerMetrics } from '../../src/observe/metrics.js';
import { decisions, demoPlan, engine, HOUR, MIN, T0 } from '../helpers/engine.js';
import { startPrometheus, type RunningPrometheus } from '../helpers/prometheus.js';
import type { LoadedPlan } from '../../src/plan/load.js';

let prom: RunningPrometheus;
beforeAll(async () => {
  prom = await startPrometheus();
});
afterAll(() => prom?.stop());

/** `plan` with the query of metric `name` replaced (after validation). */
function withQuery(plan: LoadedPlan, name: string, query: string): LoadedPlan {
  const metric = plan.plan.spec.metrics.find((m) => m.name === name)!;
  metric.query = query;
  return plan;
}

/** error-rate judged at checkpoints only (no guard): a canary phase, then `more` phases. */
function checkpointPlan(more: string): LoadedPlan {
  return demoPlan(`
  metrics:
    - { name: error-rate, query: 'sum(vector(0))', max: 0.01, critical: true }
  guard: { metrics: [] }
  phases:
    - { name: canary, weight: 10, checkpoints: [15m] }${more}`);
}

async function run(plan: LoadedPlan, until: number, stopWhenPaused = true) {
  const lines: string[] = [];
  const log = createLogger({ level: 'info', destination: { write: (s: string) => void lines.push(s) } });
  const metrics = new ControllerMetrics({ defaultMetrics: false });
  const provider = new PrometheusProvider({ address: prom.url, log });
  const e = await engine(plan, () => null, {
    metrics: provider,
    log,
    observer: { onQueryProblem: (id, metric, problem) => metrics.observeQueryProblem(id, metric, problem) },
  });
  await e.runUntil(until, stopWhenPaused);
  const errors = lines.map((l) => JSON.parse(l) as { level: string; msg: string; metric?: string; query?: string }).filter((l) => l.level === 'error');
  return { e, errors, exposition: await metrics.metrics() };
}

describe('a query Prometheus refuses', () => {
  it('at a checkpoint: pauses at once (no holds), naming the metric, the query and the Prometheus error', async () => {
    const plan = withQuery(
      checkpointPlan(`
    - { name: full, weight: 100, checkpoints: [15m] }`),
      'error-rate',
      'sum(rate(http_requests_total{code="500"}[{{window}}])',
    );
    const { e, errors, exposition } = await run(plan, T0 + 2 * HOUR);
    expect(decisions(e.records)).toEqual(['lifecycle:start@canary', 'checkpoint:pause@canary']);
    const pause = e.records[1]!;
    expect(pause.at).toBe(new Date(T0 + 15 * MIN).toISOString());
    expect(pause.weight).toEqual({ from: 10, to: 10 });
    expect(pause.metrics![0]).toMatchObject({
      name: 'error-rate',
      query: 'sum(rate(http_requests_total{code="500"}[15m])',
      value: null,
      verdict: 'nodata',
      problem: 'bad-query',
    });
    expect(pause.metrics![0]!.reason).toMatch(/^bad query \(a plan problem, not retried\): Prometheus said: .*parse error.*; query: sum\(rate\(http_requests_total\{code="500"\}\[15m\]\)$/);
    expect(pause.reason).toMatch(/^error-rate: bad query .*parse error.*; paused for a person: fix the query in the plan, then rollgate resume demo$/);
    expect(e.runner.state.status).toBe('paused');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ metric: 'error-rate', query: 'sum(rate(http_requests_total{code="500"}[15m])' });
    expect(errors[0]!.msg).toContain('parse error');
    expect(exposition).toContain('rollgate_metric_query_errors_total{rollout="default/demo",metric="error-rate",kind="bad-query"} 1');
  });

  it('at a guard tick: pauses at once with a guard record, while the checkpoints judge a sound metric', async () => {
    const plan = withQuery(
      demoPlan(`
  metrics:
    - { name: success, query: 'sum(vector(1))', min: 0.99 }
    - { name: error-rate, query: 'sum(vector(0))', max: 0.01, critical: true }
  guard: { interval: 10s, metrics: [error-rate] }
  phases:
    - { name: canary, weight: 10, checkpoints: [15m], metrics: [success] }`),
      'error-rate',
      // Valid syntax, refused by Prometheus' type check (HTTP 400): rate() needs a range vector.
      'sum(rate(http_requests_total))',
    );
    const { e, errors, exposition } = await run(plan, T0 + MIN, false);
    expect(decisions(e.records)).toEqual(['lifecycle:start@canary', 'guard:pause@canary']);
    const pause = e.records[1]!;
    expect(pause.at).toBe(new Date(T0 + 10_000).toISOString());
    expect(pause.metrics).toEqual([
      expect.objectContaining({ name: 'error-rate', query: 'sum(rate(http_requests_total))', verdict: 'nodata', problem: 'bad-query' }),
    ]);
    expect(pause.reason).toMatch(/^guard: error-rate: bad query .*Prometheus said: .*range vector.*; paused for a person/);
    // Paused, the guard keeps watching: every tick is refused again, logged and counted, with no new record.
    expect(e.records).toHaveLength(2);
    expect(errors.length).toBe(6); // ticks at 10 s, 20 s, ... 60 s
    const counted = /rollgate_metric_query_errors_total\{rollout="default\/demo",metric="error-rate",kind="bad-query"\} (\d+)/.exec(exposition);
    expect(Number(counted?.[1])).toBe(errors.length);
  });

  it('an execution error (valid syntax, HTTP 422) at a checkpoint also pauses at once', async () => {
    const plan = withQuery(
      checkpointPlan(''),
      'error-rate',
      // Two series on the "one" side of a group_left: Prometheus fails while evaluating it.
      'vector(1) * on() group_left() (label_replace(vector(1), "a", "1", "", "") or label_replace(vector(1), "a", "2", "", ""))',
    );
    const { e, errors } = await run(plan, T0 + HOUR);
    expect(decisions(e.records)).toEqual(['lifecycle:start@canary', 'checkpoint:pause@canary']);
    expect(e.records[1]!.metrics![0]).toMatchObject({ problem: 'bad-query', verdict: 'nodata' });
    expect(e.records[1]!.reason).toMatch(/Prometheus said: .*duplicate series/);
    expect(errors).toHaveLength(1);
  });

  it('the same plan with sound queries passes (the setup can advance)', async () => {
    const plan = demoPlan(`
  metrics:
    - { name: error-rate, query: 'sum(vector(0))', max: 0.01, critical: true }
  guard: { interval: 10s }
  phases:
    - { name: canary, weight: 10, checkpoints: [15m] }`);
    const { e, errors } = await run(plan, T0 + HOUR);
    expect(decisions(e.records)).toEqual(['lifecycle:start@canary', 'checkpoint:complete@canary']);
    expect(errors).toEqual([]);
  });
});
