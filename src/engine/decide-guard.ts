/**
 * The guard's decisions, pure like decide.ts: one guard evaluation (its evidence) and the
 * state's strikes -> a rollback, a pause, or a guard mark that carries the new strike count.
 */
import { formatWindow } from '../plan/duration.js';
import { DecisionBuilder, badQueryText, fixThePlan, startRollback } from './decide.js';
import { badQueries, guardWindow, type Evidence } from './judge.js';

export type GuardResult = 'pass' | 'fail' | 'nodata';

export interface GuardTick {
  result: GuardResult;
  /** Consecutive failing evaluations, this one included (before a rollback clears them). */
  strikes: number;
}

/**
 * One guard evaluation of the live split. A failing metric makes it a strike, a passing
 * evaluation clears the strikes, one with no data at all neither counts nor clears. At
 * `guard.consecutive` strikes the rollout rolls back (kind guard; the reason names the failing
 * metrics); below it a changed count is journalled as a guard mark, so a restarted controller
 * goes on counting, and a query Prometheus refused pauses the rollout.
 */
export function decideGuard(b: DecisionBuilder, evidence: Evidence): GuardTick {
  const guard = b.ctx.plan.spec.guard;
  const failed = evidence.judged.filter((m) => m.verdict === 'fail');
  const allNoData = evidence.metrics.every((m) => m.verdict === 'nodata');
  const result: GuardResult = failed.length > 0 ? 'fail' : allNoData ? 'nodata' : 'pass';
  const before = b.state.guardStrikes;
  const strikes = result === 'fail' ? before + 1 : result === 'pass' ? 0 : before;
  if (strikes >= guard.consecutive) {
    const detail = failed.map((m) => `${m.name}: ${m.why}`).join(', ');
    startRollback(b, {
      kind: 'guard',
      decision: 'rollback',
      reason: `guard: ${detail} in ${strikes} consecutive evaluations (interval ${formatWindow(guard.interval)}, window ${formatWindow(guardWindow(b.ctx.plan))})`,
      metrics: evidence.metrics,
    });
    return { result, strikes };
  }
  if (strikes !== before) b.strikes(strikes);
  if (badQueries(evidence.metrics).length > 0) decideGuardPause(b, evidence);
  return { result, strikes };
}

/**
 * The guard met a query Prometheus refused: the rollout is unguarded for that metric, so it
 * pauses at once (a progressing or waiting rollout; a paused one stays paused).
 */
function decideGuardPause(b: DecisionBuilder, evidence: Evidence): void {
  if (b.state.status !== 'progressing' && b.state.status !== 'waiting') return;
  b.push({ kind: 'guard', decision: 'pause', reason: `guard: ${badQueryText(badQueries(evidence.metrics))}; ${fixThePlan(b.ctx.plan)}`, metrics: evidence.metrics });
}
