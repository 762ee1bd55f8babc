/**
 * One metric's verdict: pass, hold, fail or nodata. Missing data is never a pass.
 */
import type { Thresholds } from '../plan/schema.js';
import type { Verdict } from '../core/record.js';

/**
 * Checkpoint verdict. A value that misses min/max fails, unless that side has a
 * rollbackBelow/rollbackAbove bound it does not cross: then it holds.
 */
export function checkpointVerdict(value: number | null, t: Thresholds): Verdict {
  if (value === null || !Number.isFinite(value)) return 'nodata';
  if (t.max !== undefined && value > t.max) {
    if (t.rollbackAbove !== undefined && value <= t.rollbackAbove) return 'hold';
    return 'fail';
  }
  if (t.min !== undefined && value < t.min) {
    if (t.rollbackBelow !== undefined && value >= t.rollbackBelow) return 'hold';
    return 'fail';
  }
  // A value inside min/max can still cross a rollback bound set tighter than min/max.
  if (t.rollbackAbove !== undefined && value > t.rollbackAbove) return 'fail';
  if (t.rollbackBelow !== undefined && value < t.rollbackBelow) return 'fail';
  return 'pass';
}

/**
 * Guard verdict: fails only on evidence of a breach, judged against rollbackAbove/rollbackBelow
 * where set, else max/min. There is no hold between checkpoints.
 */
export function guardVerdict(value: number | null, t: Thresholds): Verdict {
  if (value === null || !Number.isFinite(value)) return 'nodata';
  const upper = t.rollbackAbove ?? t.max;
  const lower = t.rollbackBelow ?? t.min;
  if (upper !== undefined && value > upper) return 'fail';
  if (lower !== undefined && value < lower) return 'fail';
  return 'pass';
}

/** Why a value got its verdict, e.g. `0.012 > max 0.005`. */
export function explainVerdict(raw: number | null, t: Thresholds, verdict: Verdict, guard = false): string {
  if (verdict === 'nodata' || raw === null) return 'no data';
  // Six significant digits: 0.026933333333333483 reads as 0.0269333.
  const value = Number(raw.toPrecision(6));
  const upper = guard ? (t.rollbackAbove ?? t.max) : t.max;
  const lower = guard ? (t.rollbackBelow ?? t.min) : t.min;
  const upperName = guard && t.rollbackAbove !== undefined ? 'rollbackAbove' : 'max';
  const lowerName = guard && t.rollbackBelow !== undefined ? 'rollbackBelow' : 'min';
  if (verdict === 'pass') return `${value} within ${describeBounds(t)}`;
  if (upper !== undefined && value > upper) {
    if (verdict === 'hold') return `${value} > max ${t.max}, not above rollbackAbove ${t.rollbackAbove}`;
    if (!guard && t.rollbackAbove !== undefined) return `${value} > rollbackAbove ${t.rollbackAbove}`;
    return `${value} > ${upperName} ${upper}`;
  }
  if (lower !== undefined && value < lower) {
    if (verdict === 'hold') return `${value} < min ${t.min}, not below rollbackBelow ${t.rollbackBelow}`;
    if (!guard && t.rollbackBelow !== undefined) return `${value} < rollbackBelow ${t.rollbackBelow}`;
    return `${value} < ${lowerName} ${lower}`;
  }
  if (t.rollbackAbove !== undefined && value > t.rollbackAbove) return `${value} > rollbackAbove ${t.rollbackAbove}`;
  if (t.rollbackBelow !== undefined && value < t.rollbackBelow) return `${value} < rollbackBelow ${t.rollbackBelow}`;
  return `${value}`;
}

function describeBounds(t: Thresholds): string {
  const parts: string[] = [];
  if (t.min !== undefined) parts.push(`min ${t.min}`);
  if (t.max !== undefined) parts.push(`max ${t.max}`);
  return parts.join(', ') || 'no bounds';
}

const SEVERITY: Record<Verdict, number> = { pass: 0, hold: 1, nodata: 2, fail: 3 };

/** The worse of two verdicts of one metric (all its bounds must hold): fail, nodata, hold, pass. */
export function worseVerdict(a: Verdict, b: Verdict): Verdict {
  return SEVERITY[a] >= SEVERITY[b] ? a : b;
}
