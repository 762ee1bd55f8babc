/**
 * The dashboard's model: a rollout's RolloutSummary (health at a glance), its PhasePlans and
 * its RolloutPage, computed from its replayed state, its plan and its decision records. Pure:
 * the live API and `rollgate report` both build their data here, so both show the same thing.
 *
 * Health (view.ts `Health`), in this order:
 * - `complete`: the rollout completed; `failing`: rolling back or rolled back; `paused`: paused;
 * - `warning` (waiting or progressing): the last decision held, the pending checkpoint was
 *   inconclusive, the guard has strikes, a metric of the last judgement had no data, or the
 *   next action is overdue (due more than OVERDUE_MS ago with nothing decided since);
 * - `healthy` otherwise (its last judgement passed, or nothing was judged yet).
 */
import type { DecisionRecord } from '../core/record.js';
import type { RolloutState } from '../core/state.js';
import { checkpointSpecs } from '../plan/checkpoints.js';
import { isoTime } from '../plan/duration.js';
import type { Plan } from '../plan/schema.js';
import type { GuardPoint, Health, MetricRange, PhasePlan, RolloutPage, RolloutSummary } from './view.js';

/** How late a next action may be before the rollout shows `warning` (as `status --overdue-after`'s default). */
export const OVERDUE_MS = 60_000;

/** The plan's time zone: that of its first time window, else null (startAt instants carry an offset, not a zone). */
export function planTimeZone(plan: Plan | null): string | null {
  return plan?.spec.windows[0]?.timezone ?? null;
}

export function health(state: RolloutState, now: number): Health {
  switch (state.status) {
    case 'complete':
      return 'complete';
    case 'rolling-back':
    case 'rolled-back':
      return 'failing';
    case 'paused':
      return 'paused';
    default:
      break;
  }
  const last = state.last;
  if (last?.decision === 'hold' || state.inconclusive > 0 || state.guardStrikes > 0) return 'warning';
  if (last?.metrics?.some((m) => m.verdict === 'nodata')) return 'warning';
  const next = last?.next ? Date.parse(last.next.at) : NaN;
  if (Number.isFinite(next) && now - next > OVERDUE_MS) return 'warning';
  return 'healthy';
}

/** One row of the overview. Without a plan (a report from a journal alone), the phase count is the phases seen. */
export function summarize(id: string, state: RolloutState, plan: Plan | null, now: number): RolloutSummary {
  const last = state.last;
  const phases = plan?.spec.phases;
  return {
    rollout: id,
    revision: state.revision || plan?.spec.revision || '',
    status: state.status,
    health: health(state, now),
    phase: state.phaseName || phases?.[0]?.name || '',
    phaseIndex: state.phaseIndex,
    phases: phases?.length ?? state.phaseIndex + 1,
    weight: state.weight,
    mirror: state.mirror,
    applied: state.applied ? { weight: state.applied.weight, mirror: state.applied.mirror, at: isoTime(state.applied.at) } : null,
    waitingFor: state.waitingFor,
    guard: plan ? { strikes: state.guardStrikes, consecutive: plan.spec.guard.consecutive } : null,
    last: last ? { seq: last.seq, decision: last.decision, kind: last.kind, at: last.at, reason: last.reason, actor: last.actor } : null,
    next: last?.next ? { what: last.next.what, at: last.next.at } : null,
    timeZone: planTimeZone(plan),
  };
}

/** The plan's phases for the timeline: split, checkpoint count, and settle + last offset (null when it is an instant). */
export function phasePlans(plan: Plan): PhasePlan[] {
  return plan.spec.phases.map((p) => {
    const specs = checkpointSpecs(p);
    const lastSpec = specs[specs.length - 1];
    return {
      name: p.name,
      weight: p.weight,
      mirror: p.mirror,
      checkpoints: specs.length,
      durationSeconds: lastSpec && 'offset' in lastSpec ? (p.settle + lastSpec.offset) / 1000 : null,
    };
  });
}

/**
 * The phases a journal shows when there is no plan: each phase a record entered, queued or
 * judged, in index order, with the split its start or advance set and the checkpoint count
 * its checkpoint records name (0 and 0% for a phase never begun).
 */
export function phasesFromRecords(records: readonly DecisionRecord[]): PhasePlan[] {
  const byIndex = new Map<number, PhasePlan>();
  const see = (index: number, name: string): PhasePlan => {
    let p = byIndex.get(index);
    if (!p) byIndex.set(index, (p = { name, weight: 0, mirror: 0, checkpoints: 0, durationSeconds: null }));
    return p;
  };
  for (const r of records) {
    if (r.enters) {
      const p = see(r.enters.index, r.enters.phase);
      if (r.decision === 'start' || r.decision === 'advance') {
        p.weight = r.weight.to;
        p.mirror = r.mirror.to;
      }
    }
    if (r.checkpoint && r.phase !== null) see(r.phaseIndex, r.phase).checkpoints = r.checkpoint.of;
  }
  return [...byIndex.entries()].sort((a, b) => a[0] - b[0]).map(([, p]) => p);
}

export interface PageInput {
  id: string;
  state: RolloutState;
  plan: Plan | null;
  /** The latest records, oldest first, and how many older ones were left out. */
  records: DecisionRecord[];
  recordsOmitted: number;
  guard?: GuardPoint[];
  ranges?: MetricRange[];
  rangesNote?: string | null;
  source: RolloutPage['source'];
  now: number;
}

export function rolloutPage(p: PageInput): RolloutPage {
  return {
    summary: summarize(p.id, p.state, p.plan, p.now),
    phases: p.plan ? phasePlans(p.plan) : phasesFromRecords(p.records),
    records: p.records,
    recordsOmitted: p.recordsOmitted,
    guard: p.guard ?? [],
    ranges: p.ranges ?? [],
    rangesNote: p.rangesNote ?? null,
    generatedAt: isoTime(p.now),
    source: p.source,
  };
}
