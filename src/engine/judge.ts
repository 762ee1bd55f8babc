/**
 * Judgement of metrics in two halves: `fetchSamples` renders each metric's query for a span
 * and asks the metrics provider at the span's end (the only I/O); `judgeSamples` turns the
 * samples into verdicts under the phase's thresholds (checkpoint or guard rules), purely.
 */
import type { MetricResult } from '../core/record.js';
import type { Metric, Phase, Plan } from '../plan/schema.js';
import { renderMetricQuery, type TemplateScope } from '../plan/queries.js';
import type { MetricsProvider, Sample } from '../core/metrics-provider.js';
import { effectiveThresholds } from '../plan/thresholds.js';
import { checkpointVerdict, explainVerdict, guardVerdict } from '../gates/verdict.js';
import { checkpointOutcome, type CheckpointOutcome, type JudgedMetric } from '../gates/outcome.js';
import type { RolloutState } from '../core/state.js';
import type { PendingCheckpoint } from './schedule.js';

export interface Evidence {
  metrics: MetricResult[];
  judged: JudgedMetric[];
}

/** One metric's rendered query and what the provider answered. */
export interface FetchedSample {
  metric: Metric;
  query: string;
  sample: Sample;
}

export function renderQuery(plan: Plan, metric: Metric, scope: TemplateScope, windowMs: number): string {
  return renderMetricQuery(plan, metric, scope, windowMs).text;
}

/** The metrics a phase judges at its checkpoints. */
export function phaseMetrics(plan: Plan, phase: Phase): Metric[] {
  const names = phase.metrics;
  return names ? plan.spec.metrics.filter((m) => names.includes(m.name)) : plan.spec.metrics;
}

/** guardMetrics of each plan: asked at every guard tick and every scheduling of a rollout. */
const guardMetricsOf = new WeakMap<Plan, readonly Metric[]>();

/** The metrics the guard watches: guard.metrics, else every critical metric (computed once per plan). */
export function guardMetrics(plan: Plan): readonly Metric[] {
  let metrics = guardMetricsOf.get(plan);
  if (metrics === undefined) {
    const names = plan.spec.guard.metrics;
    metrics = names ? plan.spec.metrics.filter((m) => names.includes(m.name)) : plan.spec.metrics.filter((m) => m.critical);
    guardMetricsOf.set(plan, metrics);
  }
  return metrics;
}

/**
 * What one judgement asks: `metrics` over the span of `windowMs` that ends at `at`, under the
 * thresholds of `phase` (`scope` fills the query templates).
 */
export interface QuerySpan {
  phase: Phase;
  metrics: readonly Metric[];
  scope: TemplateScope;
  at: number;
  windowMs: number;
}

/** The span a pending checkpoint judges: the phase's metrics over [from, due]. */
export function checkpointSpan(plan: Plan, s: RolloutState, c: PendingCheckpoint): QuerySpan {
  const phase = plan.spec.phases[s.phaseIndex]!;
  return { phase, metrics: phaseMetrics(plan, phase), scope: { phase: phase.name, weight: s.weight }, at: c.due, windowMs: c.due - c.from };
}

/**
 * The span of a guard tick at `now`: the guard's metrics over its window, under the thresholds
 * of the phase whose split is live (the previous one while the rollout waits to begin a phase).
 */
export function guardSpan(plan: Plan, s: RolloutState, now: number): QuerySpan {
  const live = s.status === 'waiting' || s.phaseStartedAt === null ? Math.max(0, s.phaseIndex - 1) : s.phaseIndex;
  const phase = plan.spec.phases[live] ?? plan.spec.phases[0]!;
  return { phase, metrics: guardMetrics(plan), scope: { phase: phase.name, weight: s.weight }, at: now, windowMs: guardWindow(plan) };
}

/** Asks the provider for each metric's query over the span. */
export function fetchSamples(provider: MetricsProvider, plan: Plan, span: QuerySpan): Promise<FetchedSample[]> {
  return Promise.all(
    span.metrics.map(async (metric) => {
      const query = renderQuery(plan, metric, span.scope, span.windowMs);
      return { metric, query, sample: await provider.instant(query, span.at) };
    }),
  );
}

/** The verdict of each sample under `phase`'s thresholds: checkpoint rules, or the guard's. */
export function judgeSamples(plan: Plan, phase: Phase, samples: FetchedSample[], mode: 'checkpoint' | 'guard'): Evidence {
  const results: MetricResult[] = [];
  const judged: JudgedMetric[] = [];
  for (const { metric: m, query, sample } of samples) {
    const t = effectiveThresholds(m, phase);
    const verdict = mode === 'guard' ? guardVerdict(sample.value, t) : checkpointVerdict(sample.value, t);
    const why = sample.value === null ? sample.reason : explainVerdict(sample.value, t, verdict, mode === 'guard');
    results.push({
      name: m.name,
      query,
      value: sample.value,
      ...t,
      verdict,
      critical: m.critical,
      weight: m.weight,
      ...(sample.value === null ? { reason: sample.reason } : {}),
      ...(sample.value === null && sample.problem ? { problem: sample.problem } : {}),
    });
    judged.push({ name: m.name, verdict, critical: m.critical, weight: m.weight, noData: m.noData ?? plan.spec.analysis.noData, why });
  }
  return { metrics: results, judged };
}

/** The metrics whose query Prometheus refused (HTTP 400/422): a plan problem. */
export function badQueries(metrics: MetricResult[]): MetricResult[] {
  return metrics.filter((m) => m.problem === 'bad-query');
}

/** A checkpoint's outcome from its judged metrics (score, critical metrics, caution). */
export function outcomeOf(plan: Plan, e: Evidence): CheckpointOutcome {
  return checkpointOutcome(e.judged, plan.spec.analysis);
}

/** The guard's window: guard.window, else max(interval, 1m). */
export function guardWindow(plan: Plan): number {
  return plan.spec.guard.window ?? Math.max(plan.spec.guard.interval, 60_000);
}
