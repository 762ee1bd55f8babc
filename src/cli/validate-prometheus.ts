/**
 * `rollgate validate --prometheus URL`: each metric's query, rendered as the controller
 * would render it for the first phase that judges it, is run once at now against URL (with
 * the plan's own credentials and timeout). A query Prometheus refuses, an unreachable
 * Prometheus and a query that returns several series are errors; an empty result, NaN or
 * an infinity is a warning (there may be no traffic yet, but a checkpoint would be nodata).
 */
import { guardWindow, phaseMetrics, renderQuery } from '../engine/judge.js';
import { PrometheusError, PrometheusProvider, providerOptionsFromPlan } from '../metrics/prometheus.js';
import type { Sample } from '../core/metrics-provider.js';
import { silentLogger } from '../support/log.js';
import type { Diagnostic, Severity } from '../plan/diagnostic.js';
import { formatPath, type PathSegment } from '../plan/diagnostic.js';
import { formatWindow } from '../plan/duration.js';
import { positionInText, type LoadedPlan } from '../plan/load.js';
import type { Metric, Plan } from '../plan/schema.js';

export interface LiveQueryResult {
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

/** Runs every metric's query of `loaded` once at `now` against `url`. */
export async function runQueriesOnce(loaded: LoadedPlan, text: string, url: string, now: number): Promise<LiveQueryResult[]> {
  const plan = loaded.plan;
  const provider = new PrometheusProvider(providerOptionsFromPlan(plan.spec.prometheus, { log: silentLogger(), address: url, retries: 1 }));
  const windowMs = guardWindow(plan);
  return Promise.all(
    plan.spec.metrics.map(async (metric, index): Promise<LiveQueryResult> => {
      const query = renderQuery(plan, metric, scopeOf(plan, metric), windowMs);
      const path: PathSegment[] = ['spec', 'metrics', index, metric.alerts !== undefined ? 'alerts' : 'query'];
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
        return { metric: metric.name, query, diagnostic: at('error', refused ? `Prometheus refused the query: ${why}` : `cannot run the query: ${why}`) };
      }
      const problem = sampleProblem(sample);
      if (!problem) return { metric: metric.name, query, value: sample.value as number };
      return { metric: metric.name, query, diagnostic: at(problem.severity, problem.message) };
    }),
  );
}
