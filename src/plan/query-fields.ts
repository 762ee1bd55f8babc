/**
 * Every PromQL template a metric holds, by field: `query`, and the queries of the judges
 * (analysis.md): `baseline`, `samples` and the four `counts` queries. Validation renders,
 * parses and (with `validate --prometheus`) runs each of them, and reports at its field.
 * `alerts` is not among them: it is label matchers, rendered into a query (alerts.ts).
 */
import type { Metric } from './schema.js';

export interface MetricQueryField {
  /** The field's path below the metric: `['query']`, `['counts', 'canary', 'bad']`. */
  path: Array<'query' | 'baseline' | 'samples' | 'counts' | 'canary' | 'bad' | 'total'>;
  /** The path as written in messages: `counts.canary.bad`. */
  name: string;
  text: string;
}

const field = (path: MetricQueryField['path'], text: string | undefined): MetricQueryField[] =>
  text === undefined ? [] : [{ path, name: path.join('.'), text }];

/** The metric's PromQL templates, in the order of the plan reference. */
export function metricQueryFields(metric: Metric): MetricQueryField[] {
  const c = metric.counts;
  return [
    ...field(['query'], metric.query),
    ...field(['baseline'], metric.baseline),
    ...field(['samples'], metric.samples),
    ...field(['counts', 'canary', 'bad'], c?.canary.bad),
    ...field(['counts', 'canary', 'total'], c?.canary.total),
    ...field(['counts', 'baseline', 'bad'], c?.baseline.bad),
    ...field(['counts', 'baseline', 'total'], c?.baseline.total),
  ];
}
