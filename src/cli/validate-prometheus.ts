/**
 * `rollgate validate --prometheus URL`: every query of each metric (`query` or the one
 * `alerts` stands for, and the judges' `baseline`, `samples` and four `counts` queries),
 * rendered as the controller would render it for the first phase that judges the metric, is
 * run once at now against URL (with the plan's own credentials and timeout) and reported at
 * its own field. A query Prometheus refuses, an unreachable Prometheus and a query that
 * returns several series are errors; an empty result, NaN or an infinity is a warning (there
 * may be no traffic yet, but a checkpoint would be nodata).
 */
import { guardWindow, phaseMetrics, renderQuery } from '../engine/judge.js';
import { PrometheusError, PrometheusProvider, providerOptionsFromPlan } from '../metrics/prometheus.js';
import type { Sample } from '../core/metrics-provider.js';
import { silentLogger } from '../support/log.js';
import type { Diagnostic, Severity } from '../plan/diagnostic.js';
import { formatPath, type PathSegment } from '../plan/diagnostic.js';
import { formatWindow } from '../plan/duration.js';
import { positionInText, type LoadedPlan } from '../plan/load.js';
import { renderQueryTemplate } from '../plan/queries.js';
import { metricQueryFields } from '../plan/query-fields.js';
import type { Metric, Plan } from '../plan/schema.js';

export interface LiveQueryResult {
  /** The metric's name, and the field when it is not the metric's own query: `p99.baseline`. */
  metric: string;
  query: string;
  /** The value at now, when the query yielded one number. */
  value?: number;
  diagnostic?: Diagnostic;
}

const SEVERAL = /^(\d+) samples, expected one$/;

/** The phase a metric is first judged in (checkpoints), else the first phase (guard only). */
function scopeOf(plan: Plan, metric: Metric): { phase: string; weight: number } {
  const phases = plan.spec.phases;
  const phase = phases.find((p) => phaseMetrics(plan, p).some((m) => m.name === metric.name)) ?? phases[0]!;
  return { phase: phase.name, weight: phase.weight };
}

/** The problem a Sample shows, as severity and message; null when it is a usable number. */
export function sampleProblem(sample: Sample): { severity: Severity; message: string } | null {
  if (sample.value !== null) return null;
  if (sample.problem === 'bad-query') return { severity: 'error', message: `Prometheus refused the query: ${sample.reason}` };
  const several = SEVERAL.exec(sample.reason);
  if (several) {
    return { severity: 'error', message: `the query returned ${several[1]} series at now, expected one: aggregate it (sum, max, ...) so it yields a single number` };
  }
  if (sample.reason === 'empty result') {
    return { severity: 'warning', message: 'the query returned no series at now (no traffic yet?): a checkpoint judged now would be nodata' };
  }
  return { severity: 'warning', message: `no usable value at now (${sample.reason}): a checkpoint judged now would be nodata` };
}

/** One query to run: the metric's field, its path and the rendered text. */
interface LiveQuery {
  label: string;
  path: PathSegment[];
  query: string;
}

function liveQueries(plan: Plan, metric: Metric, index: number, windowMs: number): LiveQuery[] {
  const scope = scopeOf(plan, metric);
  const at = (...rest: PathSegment[]) => ['spec', 'metrics', index, ...rest];
  if (metric.alerts !== undefined) return [{ label: metric.name, path: at('alerts'), query: renderQuery(plan, metric, scope, windowMs) }];
  return metricQueryFields(metric).map((f) => ({
    label: f.name === 'query' ? metric.name : `${metric.name}.${f.name}`,
    path: at(...f.path),
    query: renderQueryTemplate(plan, f.text, scope, windowMs).text,
  }));
}

/** Runs every query of every metric of `loaded` once at `now` against `url`. */
export async function runQueriesOnce(loaded: LoadedPlan, text: string, url: string, now: number): Promise<LiveQueryResult[]> {
  const plan = loaded.plan;
  const provider = new PrometheusProvider(providerOptionsFromPlan(plan.spec.prometheus, { log: silentLogger(), address: url, retries: 1 }));
  const windowMs = guardWindow(plan);
  const queries = plan.spec.metrics.flatMap((metric, index) => liveQueries(plan, metric, index, windowMs));
  return Promise.all(
    queries.map(async ({ label, path, query }): Promise<LiveQueryResult> => {
      const at = (severity: Severity, message: string): Diagnostic => ({
        file: loaded.file,
        ...positionInText(text, loaded.document, path),
        path: formatPath(path),
        message: `${message} (ran at now against ${url}, window ${formatWindow(windowMs)})`,
        severity,
      });
      let sample: Sample;
      try {
        sample = await provider.evaluate(query, now);
      } catch (err) {
        const why = err instanceof PrometheusError ? err.message : String(err);
        const refused = err instanceof PrometheusError && err.kind === 'bad-query';
        return { metric: label, query, diagnostic: at('error', refused ? `Prometheus refused the query: ${why}` : `cannot run the query: ${why}`) };
      }
      const problem = sampleProblem(sample);
      if (!problem) return { metric: label, query, value: sample.value as number };
      return { metric: label, query, diagnostic: at(problem.severity, problem.message) };
    }),
  );
}
