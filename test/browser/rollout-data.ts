/**
 * Dashboard data from real decision records: three plans run through the real engine
 * (RolloutRunner + Scheduler, test/helpers/engine.ts) against scripted Prometheus answers,
 * their records and guard evaluations turned into the shapes of src/dashboard/view.ts.
 *
 * - `default/checkout` completes (latency, success rate, error counts judged by the
 *   sequential test), in the Europe/Berlin time zone of its window;
 * - `payments/ledger` is rolled back by its guard when latency breaks `rollbackAbove` at 50%;
 * - `default/search` is still in its second phase.
 */
import { engine, planFrom } from '../helpers/engine.js';
import { checkpointSpecs } from '../../src/plan/checkpoints.js';
import { parseDuration } from '../../src/plan/duration.js';
import type { Plan } from '../../src/plan/schema.js';
import type { DecisionRecord } from '../../src/core/record.js';
import type { RolloutState } from '../../src/core/state.js';
import type { GuardPoint, Health, PhasePlan, RolloutPage, RolloutSummary } from '../../src/dashboard/view.js';

const MIN = 60_000;

function planYaml(namespace: string, name: string, opts: { window?: string } = {}): string {
  return `
apiVersion: rollgate.dev/v1alpha1
kind: RolloutPlan
metadata: { name: ${name}, namespace: ${namespace} }
spec:
  revision: "2.4.0"
  traffic: { router: file, file: { path: /tmp/unused.json } }
  metrics:
    - { name: latency-p90, query: 'latency_p90{track="canary"}[{{window}}]', max: 0.3, rollbackAbove: 0.6 }
    - { name: success-rate, query: 'success_rate{track="canary"}[{{window}}]', min: 0.99 }
    - name: errors
      counts:
        canary:   { bad: 'canary_bad[{{window}}]', total: 'canary_total[{{window}}]' }
        baseline: { bad: 'stable_bad[{{window}}]', total: 'stable_total[{{window}}]' }
      test: sequential
      tolerance: 10%
      critical: true
  guard: { interval: 2m, consecutive: 2, metrics: [latency-p90] }
${opts.window ? `  windows: [${opts.window}]\n` : ''}  phases:
    - { name: canary, weight: 10, checkpoints: [10m, 20m] }
    - { name: half, weight: 50, checkpoints: [10m, 20m] }
    - { name: full, weight: 100, checkpoints: [10m] }
`;
}

/** Scripted answers: a latency that `latency(at)` sets, a steady success rate, error counts. */
function answers(start: number, latency: (minutes: number) => number) {
  return (query: string, at: number): number | null => {
    const name = query.split(/[[{(]/)[0]!;
    const window = /\[(\w+)\]/.exec(query)?.[1];
    const seconds = window ? parseDuration(window)! / 1000 : 60;
    const minutes = (at - start) / MIN;
    switch (name) {
      case 'latency_p90':
        return latency(minutes);
      case 'success_rate':
        return 0.995 + 0.003 * Math.sin(minutes / 7);
      case 'canary_total':
        return 20 * seconds;
      case 'canary_bad':
        return 20 * seconds * 0.002;
      case 'stable_total':
        return 180 * seconds;
      case 'stable_bad':
        return 180 * seconds * 0.002;
      default:
        return null;
    }
  };
}

export interface RolloutRun {
  plan: Plan;
  state: RolloutState;
  records: DecisionRecord[];
  guard: GuardPoint[];
  /** The engine's clock when the run stopped. */
  stoppedAt: number;
}

async function run(yaml: string, start: number, stopAt: number, latency: (minutes: number) => number): Promise<RolloutRun> {
  const loaded = planFrom(yaml);
  const guard: GuardPoint[] = [];
  let now = () => start;
  const e = await engine(loaded, answers(start, latency), {
    from: start,
    observer: {
      onGuard: (_rollout, result, strikes, metrics) => guard.push({ at: new Date(now()).toISOString(), result, strikes, metrics: [...metrics] }),
    },
  });
  now = () => e.clock.now();
  await e.runUntil(stopAt);
  return { plan: loaded.plan, state: e.runner.state, records: e.records, guard, stoppedAt: e.clock.now() };
}

/** The three rollouts; times lie in the hours before `now` (the in-progress one is still running then). */
export async function threeRollouts(now = Date.now()): Promise<RolloutRun[]> {
  const steady = (m: number) => 0.2 + 0.02 * Math.sin(m / 5);
  // Yesterday 10:00 UTC: inside the checkout plan's Berlin window (06:00-22:00).
  const yesterday = Math.floor(now / 86_400_000) * 86_400_000 - 14 * 3_600_000;
  const checkout = await run(planYaml('default', 'checkout', { window: '{ start: "06:00", end: "22:00", timezone: Europe/Berlin }' }), yesterday, yesterday + 3 * 3_600_000, steady);
  const ledger = await run(planYaml('payments', 'ledger'), now - 3 * 3_600_000, now - 3_600_000, (m) => (m < 32 ? steady(m) : 0.8));
  const search = await run(planYaml('default', 'search'), now - 27 * MIN, now, steady);
  return [checkout, ledger, search];
}

/** The planned phases of `plan`, for the timeline. */
export function phasesOf(plan: Plan): PhasePlan[] {
  return plan.spec.phases.map((p) => {
    const specs = checkpointSpecs(p);
    const last = specs[specs.length - 1];
    return { name: p.name, weight: p.weight, mirror: p.mirror, checkpoints: specs.length, durationSeconds: last && 'offset' in last ? last.offset / 1000 : null };
  });
}

function healthOf(s: RolloutState): Health {
  if (s.status === 'complete') return 'complete';
  if (s.status === 'rolling-back' || s.status === 'rolled-back') return 'failing';
  if (s.status === 'paused') return 'paused';
  return s.guardStrikes > 0 || s.last?.decision === 'hold' ? 'warning' : 'healthy';
}

export function summaryOf(r: RolloutRun): RolloutSummary {
  const s = r.state;
  const last = s.last;
  return {
    rollout: s.rollout,
    revision: s.revision,
    status: s.status,
    health: healthOf(s),
    phase: s.phaseName,
    phaseIndex: s.phaseIndex,
    phases: r.plan.spec.phases.length,
    weight: s.weight,
    mirror: s.mirror,
    applied: s.applied ? { weight: s.applied.weight, mirror: s.applied.mirror, at: new Date(s.applied.at).toISOString() } : null,
    waitingFor: s.waitingFor,
    guard: { strikes: s.guardStrikes, consecutive: r.plan.spec.guard.consecutive },
    last: last ? { seq: last.seq, decision: last.decision, kind: last.kind, at: last.at, reason: last.reason, actor: last.actor } : null,
    next: last?.next && s.status !== 'complete' && s.status !== 'rolled-back' ? last.next : null,
    timeZone: r.plan.spec.windows[0]?.timezone ?? null,
  };
}

export function pageOf(r: RolloutRun, source: RolloutPage['source'], generatedAt = new Date().toISOString()): RolloutPage {
  return {
    summary: summaryOf(r),
    phases: phasesOf(r.plan),
    records: r.records,
    recordsOmitted: 0,
    guard: source === 'live' ? r.guard : [],
    ranges: [],
    rangesNote: source === 'report' ? 'no Prometheus address given' : null,
    generatedAt,
    source,
  };
}
