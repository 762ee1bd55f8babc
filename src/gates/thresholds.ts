/**
 * The thresholds a metric is judged against in a phase: the metric's own, overridden field by
 * field by the phase's `thresholds`. An `alerts` metric without bounds passes at 0.
 */
import type { Metric, Phase, Thresholds } from '../plan/schema.js';

export function effectiveThresholds(metric: Metric, phase?: Pick<Phase, 'thresholds'>): Thresholds {
  const base: Thresholds = {
    min: metric.min,
    max: metric.max,
    rollbackBelow: metric.rollbackBelow,
    rollbackAbove: metric.rollbackAbove,
  };
  if (metric.alerts !== undefined && base.min === undefined && base.max === undefined) base.max = 0;
  const override = phase?.thresholds?.[metric.name];
  const merged: Thresholds = { ...base };
  if (override) {
    for (const key of ['min', 'max', 'rollbackBelow', 'rollbackAbove'] as const) {
      if (override[key] !== undefined) merged[key] = override[key];
    }
  }
  return dropUndefined(merged);
}

function dropUndefined(t: Thresholds): Thresholds {
  const out: Thresholds = {};
  for (const key of ['min', 'max', 'rollbackBelow', 'rollbackAbove'] as const) {
    if (t[key] !== undefined) out[key] = t[key];
  }
  return out;
}

/** `max 0.005`, `min 0.95, rollbackBelow 0.9`: the thresholds as a person reads them. */
export function describeThresholds(t: Thresholds): string {
  const parts: string[] = [];
  if (t.min !== undefined) parts.push(`min ${t.min}`);
  if (t.max !== undefined) parts.push(`max ${t.max}`);
  if (t.rollbackBelow !== undefined) parts.push(`rollbackBelow ${t.rollbackBelow}`);
  if (t.rollbackAbove !== undefined) parts.push(`rollbackAbove ${t.rollbackAbove}`);
  return parts.join(', ');
}
