/**
 * The guard's decisions, pure like decide.ts: one guard evaluation (its evidence) and the
 * state's strikes -> a rollback, a pause, or a guard mark that carries the new strike count.
 */
import { formatWindow } from '../plan/duration.js';
import { DecisionBuilder, badQueryText, fixThePlan, startRollback } from './decide.js';
import { badQueries, belowTrafficFloor, guardWindow, recordedMetrics, type Evidence } from './judge.js';

export type GuardResult = 'pass' | 'fail' | 'nodata';

export interface GuardTick {
  result: GuardResult;
  /** Consecutive failing evaluations, this one included (before a rollback clears them). */
  strikes: number;
}

/**
 * One guard evaluation of the live split. A failing metric makes it a strike, a passing
 * evaluation clears the strikes, one with no data at all neither counts nor clears, and one
 * where a metric is below its traffic floor does not clear them either (too little evidence is
 * no good news). At `guard.consecutive` strikes the rollout rolls back (kind guard; the reason
 * names the failing metrics); a failing sequential test rolls back at once, since it is
 * anytime-valid (`consecutive` does not apply to it). Below that a changed count is journalled
 * as a guard mark, so a restarted controller goes on counting, and a query Prometheus refused
 * pauses the rollout. A record carries every metric's numbers (`recordedMetrics`: the
 * sequential test's interval included).
 */
export function decideGuard(b: DecisionBuilder, evidence: Evidence): GuardTick {
  const guard = b.ctx.plan.spec.guard;
  const failed = evidence.judged.filter((m) => m.verdict === 'fail');
  const allNoData = evidence.metrics.every((m) => m.verdict === 'nodata');
  const result: GuardResult = failed.length > 0 ? 'fail' : allNoData ? 'nodata' : 'pass';
  const before = b.state.guardStrikes;
  const clears = result === 'pass' && !evidence.metrics.some(belowTrafficFloor);
  const strikes = result === 'fail' ? before + 1 : clears ? 0 : before;
  const anytime = evidence.metrics.filter((m) => m.verdict === 'fail' && m.test === 'sequential');
  if (strikes >= guard.consecutive || anytime.length > 0) {
    const detail = failed.map((m) => `${m.name}: ${m.why}`).join(', ');
    const interval = `interval ${formatWindow(guard.interval)}`;
    const count =
      strikes >= guard.consecutive
        ? `in ${strikes} consecutive evaluations (${interval}, window ${formatWindow(guardWindow(b.ctx.plan))})`
        : `in one evaluation (${anytime.map((m) => m.name).join(', ')}: the sequential test is anytime-valid, guard.consecutive does not apply; ${interval}, counts since the phase's split was applied)`;
    startRollback(b, {
      kind: 'guard',
      decision: 'rollback',
      reason: `guard: ${detail} ${count}`,
      metrics: recordedMetrics(evidence.metrics),
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
  b.push({ kind: 'guard', decision: 'pause', reason: `guard: ${badQueryText(badQueries(evidence.metrics))}; ${fixThePlan(b.ctx.plan)}`, metrics: recordedMetrics(evidence.metrics) });
}
