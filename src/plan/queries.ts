/**
 * The PromQL a metric sends: its templates (`query`, or the one `alerts` stands for; the
 * `baseline` and `samples` queries; the four `counts`) rendered with the plan's vars and the
 * built-ins of the moment it is judged. One function for the engine (engine/judge.ts) and for
 * validation, so what is checked is what runs.
 */
import { alertsQuery } from './alerts.js';
import { formatWindow } from './duration.js';
import type { Metric, Plan } from './schema.js';
import { parseTemplate, renderParsed, renderTemplateMapped, type ParsedTemplate, type RenderedTemplate } from './template.js';

export interface TemplateScope {
  phase: string;
  weight: number;
}

/** The metric's own query: `query`, the one `alerts` stands for, or the canary's `bad` count. */
export function metricTemplate(metric: Metric): string {
  if (metric.alerts !== undefined) return alertsQuery(metric.alerts);
  return metric.query ?? metric.counts!.canary.bad;
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
  return renderQueryTemplate(plan, metricTemplate(metric), scope, windowMs);
}

/** Any query template of a metric (`baseline`, `samples`, a count), rendered. Throws a TemplateError. */
export function renderQueryTemplate(plan: Plan, template: string, scope: TemplateScope, windowMs: number): RenderedTemplate {
  return renderTemplateMapped(template, templateValues(plan, scope, windowMs));
}

/** Each plan's query templates, parsed once (a bounded set: the templates of its metrics). */
const parsedTemplates = new WeakMap<Plan, Map<string, ParsedTemplate>>();

/**
 * One of the plan's query templates rendered with `values` (templateValues of the judgement),
 * as renderQueryTemplate's text; the template is parsed once per plan. Throws a TemplateError.
 */
export function queryText(plan: Plan, template: string, values: Readonly<Record<string, string>>): string {
  let parsed = parsedTemplates.get(plan);
  if (!parsed) parsedTemplates.set(plan, (parsed = new Map()));
  let t = parsed.get(template);
  if (!t) parsed.set(template, (t = parseTemplate(template)));
  return renderParsed(t, values);
}
