/**
 * Every PromQL template of a metric (`query`, the query `alerts` stands for, `baseline`,
 * `samples` and the four `counts` queries), rendered as the engine renders it (vars,
 * built-ins, `{{window}}`), must parse as PromQL: a typo found here never reaches a running
 * rollout, where Prometheus would refuse it and the metric would give no evidence. A `counts`
 * query must use `{{window}}`: the sequential test needs the phase's cumulative counts, and
 * `{{window}}` is the span since the phase's split was applied.
 */
import { error, type PathSegment, type PlanIssue } from './diagnostic.js';
import { envReferences } from './env.js';
import { promqlSyntaxError } from './promql.js';
import { metricTemplate, templateValues, type TemplateScope } from './queries.js';
import { metricQueryFields } from './query-fields.js';
import type { Metric, Plan } from './schema.js';
import { renderTemplateMapped, templateNames, TemplateError } from './template.js';

/** The guard's window: a `{{window}}` value every plan produces (any window renders alike). */
function representativeWindow(plan: Plan): number {
  const { guard } = plan.spec;
  return guard.window ?? Math.max(guard.interval, 60_000);
}

/** The scopes a template is rendered in: every phase when it uses {{phase}} or {{weight}}, else one. */
function scopes(plan: Plan, template: string): TemplateScope[] {
  const all = plan.spec.phases.map((p) => ({ phase: p.name, weight: p.weight }));
  const names = templateNames(template);
  return names.includes('phase') || names.includes('weight') ? all : all.slice(0, 1);
}

interface QueryField {
  path: PathSegment[];
  /** The template as rendered (for alerts: the query it stands for). */
  template: string;
  /** The field's own text when the template is it (errors then point inside it). */
  written: string | null;
}

function fieldsOf(metric: Metric, i: number): QueryField[] {
  const out: QueryField[] = metricQueryFields(metric).map((f) => ({ path: ['spec', 'metrics', i, ...f.path], template: f.text, written: f.text }));
  if (metric.alerts !== undefined) out.unshift({ path: ['spec', 'metrics', i, 'alerts'], template: metricTemplate(metric), written: null });
  return out;
}

function syntaxIssue(plan: Plan, f: QueryField): PlanIssue | null {
  const windowMs = representativeWindow(plan);
  const seen = new Set<string>();
  for (const scope of scopes(plan, f.template)) {
    let rendered;
    try {
      rendered = renderTemplateMapped(f.template, templateValues(plan, scope, windowMs));
    } catch (err) {
      // Malformed and unknown names are reported by templateVariables.
      if (err instanceof TemplateError && err.problem === 'unquotable-value') return error(f.path, err.message, { needle: err.placeholder });
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
    const message = `PromQL syntax error${inValue}: ${syntax.message}${f.written === null ? ` (alerts render as ${JSON.stringify(rendered.text)})` : ''}`;
    // `alerts` render into a larger query: point at the field; a query at the error itself.
    return f.written !== null ? error(f.path, message, { within: { text: f.written, offset: rendered.templateOffset(syntax.offset) } }) : error(f.path, message);
  }
  return null;
}

function countsWindow(metric: Metric, i: number): PlanIssue[] {
  return metricQueryFields(metric)
    .filter((f) => f.path[0] === 'counts' && !templateNames(f.text).includes('window'))
    .map((f) =>
      error(
        ['spec', 'metrics', i, ...f.path],
        `a counts query must count over [{{window}}] (e.g. sum(increase(...[{{window}}]))): the sequential test needs the phase's cumulative counts, and {{window}} is the span since the phase's split was applied`,
      ),
    );
}

export function checkQueries(plan: Plan): PlanIssue[] {
  return plan.spec.metrics.flatMap((m, i) => [...fieldsOf(m, i).flatMap((f) => syntaxIssue(plan, f) ?? []), ...countsWindow(m, i)]);
}
