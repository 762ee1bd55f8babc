/**
 * Every metric's query, rendered as the engine renders it (vars, built-ins, `{{window}}`),
 * must parse as PromQL: a typo found here never reaches a running rollout, where Prometheus
 * would refuse it and the metric would give no evidence.
 */
import { error, type PlanIssue } from './diagnostic.js';
import { envReferences } from './env.js';
import { promqlSyntaxError } from './promql.js';
import { metricTemplate, renderMetricQuery, type TemplateScope } from './queries.js';
import type { Metric, Plan } from './schema.js';
import { templateNames, TemplateError } from './template.js';

/** The guard's window: a `{{window}}` value every plan produces (any window renders alike). */
function representativeWindow(plan: Plan): number {
  const { guard } = plan.spec;
  return guard.window ?? Math.max(guard.interval, 60_000);
}

/** The scopes a metric is rendered in: every phase when it uses {{phase}} or {{weight}}, else one. */
function scopes(plan: Plan, metric: Metric): TemplateScope[] {
  const all = plan.spec.phases.map((p) => ({ phase: p.name, weight: p.weight }));
  const names = templateNames(metricTemplate(metric));
  return names.includes('phase') || names.includes('weight') ? all : all.slice(0, 1);
}

function metricIssue(plan: Plan, metric: Metric, i: number): PlanIssue | null {
  if (metric.query === undefined && metric.alerts === undefined) return null; // reported by metricSource
  const field = metric.alerts !== undefined ? 'alerts' : 'query';
  const path = ['spec', 'metrics', i, field];
  const windowMs = representativeWindow(plan);
  const seen = new Set<string>();
  for (const scope of scopes(plan, metric)) {
    let rendered;
    try {
      rendered = renderMetricQuery(plan, metric, scope, windowMs);
    } catch (err) {
      // Malformed and unknown names are reported by templateVariables.
      if (err instanceof TemplateError && err.problem === 'unquotable-value') return error(path, err.message, { needle: err.placeholder });
      if (err instanceof TemplateError) return null;
      throw err;
    }
    // An unset ${NAME} (validate's lenient mode) is only known at run time, where it is expanded.
    if (seen.has(rendered.text) || envReferences(rendered.text).length > 0) continue;
    seen.add(rendered.text);
    const syntax = promqlSyntaxError(rendered.text);
    if (!syntax) continue;
    const where = rendered.placeholderAt(syntax.offset);
    const inValue = where ? ` in the value of {{${where.name}}}` : '';
    const message = `PromQL syntax error${inValue}: ${syntax.message}${field === 'alerts' ? ` (alerts render as ${JSON.stringify(rendered.text)})` : ''}`;
    // `alerts` render into a larger query: point at the field; a query at the error itself.
    return field === 'query' ? error(path, message, { within: { text: metric.query!, offset: rendered.templateOffset(syntax.offset) } }) : error(path, message);
  }
  return null;
}

export function checkQueries(plan: Plan): PlanIssue[] {
  return plan.spec.metrics.flatMap((m, i) => metricIssue(plan, m, i) ?? []);
}
