/**
 * The PromQL a metric sends: its template (`query`, or the one `alerts` stands for) rendered
 * with the plan's vars and the built-ins of the moment it is judged. One function for the
 * engine (engine/judge.ts) and for validation, so what is checked is what runs.
 */
import { alertsQuery } from './alerts.js';
import { formatWindow } from './duration.js';
import type { Metric, Plan } from './schema.js';
import { renderTemplateMapped, type RenderedTemplate } from './template.js';

export interface TemplateScope {
  phase: string;
  weight: number;
}

export function metricTemplate(metric: Metric): string {
  return metric.alerts !== undefined ? alertsQuery(metric.alerts) : metric.query!;
}

/** The values of every template name for one judgement. */
export function templateValues(plan: Plan, scope: TemplateScope, windowMs: number): Record<string, string> {
  return {
    ...plan.spec.vars,
    rollout: plan.metadata.name,
    namespace: plan.metadata.namespace ?? 'default',
    revision: plan.spec.revision,
    phase: scope.phase,
    weight: String(scope.weight),
    window: formatWindow(windowMs),
  };
}

/** The rendered query, mapped back to the metric's template. Throws a TemplateError. */
export function renderMetricQuery(plan: Plan, metric: Metric, scope: TemplateScope, windowMs: number): RenderedTemplate {
  return renderTemplateMapped(metricTemplate(metric), templateValues(plan, scope, windowMs));
}
