/**
 * The pass and fail conditions of a metric, with a phase's `thresholds` override applied
 * field by field. An `alerts` metric without min/max passes at 0 (an implied `max: 0`).
 */
import type { Metric, Phase, Thresholds } from './schema.js';

export const THRESHOLD_FIELDS = ['min', 'max', 'rollbackBelow', 'rollbackAbove'] as const;

/** The metric's own thresholds, `max: 0` implied for alerts metrics. */
export function metricThresholds(metric: Metric): Thresholds {
  const t: Thresholds = {};
  for (const f of THRESHOLD_FIELDS) if (metric[f] !== undefined) t[f] = metric[f];
  if (metric.alerts !== undefined && t.min === undefined && t.max === undefined) t.max = 0;
  return t;
}

/** The thresholds in force for `metric` during `phase` (the phase's override wins field by field). */
export function effectiveThresholds(metric: Metric, phase?: Pick<Phase, 'thresholds'>): Thresholds {
  const t = metricThresholds(metric);
  const override = phase?.thresholds?.[metric.name];
  if (override) for (const f of THRESHOLD_FIELDS) if (override[f] !== undefined) t[f] = override[f];
  return t;
}
