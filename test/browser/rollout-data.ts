/**
 * Dashboard data from real decision records: three plans run through the real engine
 * (RolloutRunner + Scheduler, test/helpers/engine.ts) against scripted Prometheus answers,
 * their records and guard evaluations turned into the shapes of src/dashboard/view.ts by the
 * dashboard's own model (src/dashboard/model.ts).
 *
 * - `default/checkout` completes (latency, success rate, error counts judged by the
 *   sequential test), in the Europe/Berlin time zone of its window;
 * - `payments/ledger` is rolled back by its guard when latency breaks `rollbackAbove` at 50%;
 * - `default/search` is still in its second phase.
 */
import { engine, planFrom } from '../helpers/engine.js';
import { parseDuration } from '../../src/plan/duration.js';
import type { Plan } from '../../src/plan/schema.js';
import type { DecisionRecord } from '../../src/core/record.js';
import type { RolloutState } from '../../src/core/state.js';
import type { GuardPoint, RolloutPage, RolloutSummary } from '../../src/dashboard/view.js';
import { rolloutPage, summarize } from '../../src/dashboard/model.js';

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

/** The overview row of a run, as the dashboard's model makes it (src/dashboard/model.ts). */
export function summaryOf(r: RolloutRun, now = Date.now()): RolloutSummary {
  return summarize(r.state.rollout, r.state, r.plan, now);
}

/** The rollout page of a run: live with its guard evaluations, a report without (not journalled). */
export function pageOf(r: RolloutRun, source: RolloutPage['source'], now = Date.now()): RolloutPage {
  return rolloutPage({
    id: r.state.rollout,
    state: r.state,
    plan: r.plan,
    records: r.records,
    recordsOmitted: 0,
    guard: source === 'live' ? r.guard : [],
    rangesNote: source === 'report' ? 'no Prometheus address given' : null,
    source,
    now,
  });
}
