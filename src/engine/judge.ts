/**
 * Gathers evidence: renders each metric's query for a span, asks the metrics provider at the
 * span's end, and turns values into verdicts (checkpoint or guard rules).
 */
import type { MetricResult } from '../core/record.js';
import type { Metric, Phase, Plan } from '../plan/schema.js';
import { renderMetricQuery, type TemplateScope } from '../plan/queries.js';
import type { MetricsProvider } from '../core/metrics-provider.js';
import { effectiveThresholds } from '../plan/thresholds.js';
import { checkpointVerdict, explainVerdict, guardVerdict } from '../gates/verdict.js';
import { checkpointOutcome, type CheckpointOutcome, type JudgedMetric } from '../gates/outcome.js';

export interface Evidence {
  metrics: MetricResult[];
  judged: JudgedMetric[];
}

export function renderQuery(plan: Plan, metric: Metric, scope: TemplateScope, windowMs: number): string {
  return renderMetricQuery(plan, metric, scope, windowMs).text;
}

/** The metrics a phase judges at its checkpoints. */
export function phaseMetrics(plan: Plan, phase: Phase): Metric[] {
  const names = phase.metrics;
  return names ? plan.spec.metrics.filter((m) => names.includes(m.name)) : plan.spec.metrics;
}

/** The metrics the guard watches: guard.metrics, else every critical metric. */
export function guardMetrics(plan: Plan): Metric[] {
  const names = plan.spec.guard.metrics;
  return names ? plan.spec.metrics.filter((m) => names.includes(m.name)) : plan.spec.metrics.filter((m) => m.critical);
}

export async function gatherEvidence(
  provider: MetricsProvider,
  plan: Plan,
  phase: Phase,
  metrics: Metric[],
  scope: TemplateScope,
  at: number,
  windowMs: number,
  mode: 'checkpoint' | 'guard',
): Promise<Evidence> {
  const samples = await Promise.all(
    metrics.map(async (m) => {
      const query = renderQuery(plan, m, scope, windowMs);
      return { m, query, sample: await provider.instant(query, at) };
    }),
  );
  const results: MetricResult[] = [];
  const judged: JudgedMetric[] = [];
  for (const { m, query, sample } of samples) {
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

export function outcomeOf(plan: Plan, e: Evidence): CheckpointOutcome {
  return checkpointOutcome(e.judged, plan.spec.analysis);
}

/** The guard's window: guard.window, else max(interval, 1m). */
export function guardWindow(plan: Plan): number {
  return plan.spec.guard.window ?? Math.max(plan.spec.guard.interval, 60_000);
}
