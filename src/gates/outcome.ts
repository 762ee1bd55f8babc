/**
 * How a checkpoint's verdicts become one outcome (docs/plan-reference.md, analysis).
 *
 * Without a score: any fail rolls back; else any nodata or hold is inconclusive; else pass.
 * With a score: a failing critical metric rolls back; missing data is inconclusive (missing
 * evidence never advances); otherwise score = 100 x weight(pass) / weight(judged):
 * >= pass is GO, >= caution is GO WITH CAUTION, below is NO-GO (rollback).
 * A nodata verdict under the `fail` noData policy counts as a fail everywhere.
 */
import type { Analysis, NoDataPolicy } from '../plan/schema.js';
import type { Verdict } from '../core/record.js';

export type Outcome = 'pass' | 'caution' | 'inconclusive' | 'fail';

export interface JudgedMetric {
  name: string;
  verdict: Verdict;
  critical: boolean;
  weight: number;
  noData: NoDataPolicy;
  /** Short explanation, e.g. `0.012 > max 0.005` or `empty result`. */
  why: string;
}

export interface CheckpointOutcome {
  outcome: Outcome;
  score: number | null;
  /** GO / GO WITH CAUTION / NO-GO, with a score only. */
  label?: 'GO' | 'GO WITH CAUTION' | 'NO-GO';
  reason: string;
}

const failsOnNoData = (m: JudgedMetric) => m.verdict === 'nodata' && m.noData === 'fail';
const isFail = (m: JudgedMetric) => m.verdict === 'fail' || failsOnNoData(m);
const isMissing = (m: JudgedMetric) => m.verdict === 'nodata' && m.noData === 'inconclusive';

function list(ms: JudgedMetric[]): string {
  return ms.map((m) => `${m.name} (${m.why})`).join(', ');
}

export function checkpointOutcome(metrics: JudgedMetric[], analysis: Pick<Analysis, 'score'>): CheckpointOutcome {
  const failed = metrics.filter(isFail);
  const missing = metrics.filter(isMissing);
  const held = metrics.filter((m) => m.verdict === 'hold');
  const passed = metrics.filter((m) => m.verdict === 'pass');

  if (!analysis.score) {
    if (failed.length > 0) return { outcome: 'fail', score: null, reason: `fail: ${list(failed)}` };
    if (missing.length > 0 || held.length > 0) {
      const parts: string[] = [];
      if (missing.length > 0) parts.push(`no data: ${list(missing)}`);
      if (held.length > 0) parts.push(`held: ${list(held)}`);
      return { outcome: 'inconclusive', score: null, reason: `inconclusive: ${parts.join('; ')}` };
    }
    return { outcome: 'pass', score: null, reason: `${passed.length}/${metrics.length} metrics pass` };
  }

  const criticalFailed = failed.filter((m) => m.critical);
  if (criticalFailed.length > 0) {
    return { outcome: 'fail', score: null, label: 'NO-GO', reason: `NO-GO: critical metric failed: ${list(criticalFailed)}` };
  }
  if (missing.length > 0) {
    return { outcome: 'inconclusive', score: null, reason: `inconclusive: no data: ${list(missing)}` };
  }
  const total = metrics.reduce((s, m) => s + m.weight, 0);
  const score = total === 0 ? 0 : round2((100 * passed.reduce((s, m) => s + m.weight, 0)) / total);
  const notPassing = metrics.filter((m) => m.verdict !== 'pass');
  const detail = notPassing.length > 0 ? `; not passing: ${list(notPassing)}` : '';
  if (score >= analysis.score.pass) {
    return { outcome: 'pass', score, label: 'GO', reason: `GO: score ${score} >= pass ${analysis.score.pass}${detail}` };
  }
  if (score >= analysis.score.caution) {
    return {
      outcome: 'caution',
      score,
      label: 'GO WITH CAUTION',
      reason: `GO WITH CAUTION: score ${score} in [caution ${analysis.score.caution}, pass ${analysis.score.pass})${detail}`,
    };
  }
  return { outcome: 'fail', score, label: 'NO-GO', reason: `NO-GO: score ${score} < caution ${analysis.score.caution}${detail}` };
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
