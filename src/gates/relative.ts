/**
 * Bounds relative to the baseline (analysis.md section 2): the canary may be `tolerance`
 * (a fraction) worse than the baseline, or `slack` worse in the metric's unit; the looser of
 * the two applies. With `worse: higher` the bound is max(b (1 + tolerance), b + slack), with
 * `worse: lower` it is min(b (1 - tolerance), b - slack); an absent tolerance or slack is 0.
 */
import type { Verdict } from '../core/record.js';

export type Worse = 'higher' | 'lower';

export interface RelativeRule {
  worse: Worse;
  tolerance: number;
  slack: number;
}

export interface RelativeJudgement {
  verdict: Extract<Verdict, 'pass' | 'fail'>;
  /** The bound that applied. */
  bound: number;
  /** canary / baseline; null when the baseline is 0. */
  ratio: number | null;
  /** e.g. `0.012 > bound 0.0108 (baseline 0.009 +20%)`. */
  why: string;
}

/** The bound the canary is held to for a baseline value. */
export function relativeBound(baseline: number, r: RelativeRule): number {
  return r.worse === 'higher'
    ? Math.max(baseline * (1 + r.tolerance), baseline + r.slack)
    : Math.min(baseline * (1 - r.tolerance), baseline - r.slack);
}

/** The canary against the bound from the baseline: a value on the bound passes. */
export function relativeJudgement(canary: number, baseline: number, r: RelativeRule): RelativeJudgement {
  const bound = relativeBound(baseline, r);
  const holds = r.worse === 'higher' ? canary <= bound : canary >= bound;
  const ratio = baseline === 0 ? null : canary / baseline;
  const op = r.worse === 'higher' ? (holds ? '<=' : '>') : holds ? '>=' : '<';
  const ratioText = ratio === null ? '' : `, x${short(ratio, 3)}`;
  return { verdict: holds ? 'pass' : 'fail', bound, ratio, why: `${short(canary)} ${op} bound ${short(bound)} (baseline ${short(baseline)}${allowance(r)}${ratioText})` };
}

/** What the bound allows beyond the baseline, e.g. ` +20% or +0.005`. */
function allowance(r: RelativeRule): string {
  const sign = r.worse === 'higher' ? '+' : '-';
  const parts: string[] = [];
  if (r.tolerance > 0) parts.push(`${sign}${short(r.tolerance * 100)}%`);
  if (r.slack > 0) parts.push(`${sign}${short(r.slack)}`);
  return parts.length > 0 ? ` ${parts.join(' or ')}` : '';
}

/** Six significant digits (three for ratios): 0.010799999999999999 reads as 0.0108. */
function short(n: number, digits = 6): number {
  return Number(n.toPrecision(digits));
}
