/**
 * What `rollgate status` says about one rollout, as data (the JSON object of `--output json`;
 * status-text.ts prints it): from the replayed journal and the plan note of a state dir, or
 * from a RolloutPlan's `.status` in cluster mode. Nothing here reads files or the API.
 */
import type { DecisionRecord, MetricResult } from '../core/record.js';
import type { RolloutState, WaitReason } from '../core/state.js';
import type { RolloutPlanObject } from '../cluster/rolloutplans.js';
import type { PlanNote } from '../statedir/plan-note.js';
import type { StateDirOwner } from '../statedir/lock.js';
import { objectKey } from '../kube/objects.js';

export const NOT_SEEN = 'not yet seen by a controller';

/** How late a due action may be before `status` calls it overdue (a slow Prometheus, retries). */
export const DEFAULT_OVERDUE_MS = 60_000;

export interface OverdueClock {
  now: number;
  marginMs: number;
}

/** In cluster mode: whether a live leader writes the RolloutPlan's status. */
export interface LeaderView {
  /** live: the Lease is held and renewed; none: no holder, or its renewTime is older than leaseDurationSeconds; unknown: not known where to look. */
  state: 'live' | 'none' | 'unknown';
  /** `namespace/name` of the Lease, when known. */
  lease: string | null;
  holder: string | null;
  renewTime: string | null;
  /** One sentence for people. */
  detail: string;
}

/** A plan edit that did not apply: the previous version stays in force. */
export interface PlanEditView {
  /** Each error as the controller reported it (`FILE:LINE:COL: path: message`, or `path: message` in cluster mode). */
  errors: string[];
  /** When the controller found it (state dir), or the time of the InvalidPlan Event (cluster); null when unknown. */
  at: string | null;
  /** The version in force. */
  runningRevision: string;
  runningPlanHash: string | null;
  /** Cluster mode: the spec's generation the controller has not applied, and the one it runs. */
  generation?: number;
  observedGeneration?: number | null;
}

/** One rollout's status (the JSON object of `--output json`). Fields are added, never renamed. */
export interface StatusSummary {
  rollout: string;
  revision: string;
  status: string | null;
  phase: string;
  weight: number | null;
  mirror: number | null;
  applied: { weight: number; mirror: number; at: string } | null;
  waitingFor: string | null;
  next: string;
  /**
   * The last decision; `metrics`: its judgement of each metric, with the judge's numbers
   * (present when that decision judged metrics: a checkpoint or guard record).
   */
  lastDecision: {
    seq: number;
    decision: string;
    kind: string | null;
    at: string | null;
    reason: string | null;
    actor: string | null;
    metrics?: MetricResult[];
  } | null;
  /**
   * The next action's due time passed more than the overdue margin ago (`--overdue-after`,
   * default 1m) with nothing journalled since: no controller is acting on it, or it is stuck.
   */
  overdue: { what: string; due: string; bySeconds: number } | null;
  /** What the controller does next by itself and when; `inSeconds` < 0: that long past due. Null when nothing is due by itself. */
  nextAction: { what: string; at: string; inSeconds: number } | null;
  /** What a waiting (or paused-while-waiting) rollout waits for, in words: `waiting for approval: rollgate promote NAME`. */
  waiting: { for: WaitReason; text: string; reason: string | null; until: string | null } | null;
  /** The latest record that judged metrics (checkpoint or guard), with each metric's value against its thresholds. */
  lastJudgement: { seq: number; kind: string; at: string; where: string; metrics: MetricResult[] } | null;
  /** The guard's consecutive failing evaluations, of the `consecutive` that roll back; null when unknown or the guard watches nothing. */
  guard: { strikes: number; consecutive: number; interval: string } | null;
  /** The plan's time zone (its deployment windows'), in which texts show times next to UTC; null: UTC or unknown. */
  timeZone: string | null;
  /** A plan edit that was not applied (null: the latest edit is in force, or none is known). */
  planEdit: PlanEditView | null;
  /** Cluster mode only, when the RolloutPlan has no status yet. */
  note?: string;
  /** State-dir mode: who owns the state dir. */
  controller?: StateDirOwner;
  /** Cluster mode: whether a live leader writes the status. */
  leader?: LeaderView;
}

const defaultClock = (): OverdueClock => ({ now: Date.now(), marginMs: DEFAULT_OVERDUE_MS });

function overdueOf(status: string | null, waitingFor: string | null, due: { what: string; at: string } | null | undefined, clock: OverdueClock): StatusSummary['overdue'] {
  if (!due || status === null || status === 'complete' || status === 'rolled-back' || status === 'paused' || waitingFor === 'approval') return null;
  const at = Date.parse(due.at);
  if (!Number.isFinite(at) || clock.now - at <= clock.marginMs) return null;
  return { what: due.what, due: new Date(at).toISOString(), bySeconds: Math.round((clock.now - at) / 1000) };
}

function nextActionOf(status: string | null, due: { what: string; at: string } | null | undefined, clock: OverdueClock): StatusSummary['nextAction'] {
  if (!due || status === null || status === 'complete' || status === 'rolled-back' || status === 'paused') return null;
  const at = Date.parse(due.at);
  if (!Number.isFinite(at)) return null;
  return { what: due.what, at: new Date(at).toISOString(), inSeconds: Math.round((at - clock.now) / 100) / 10 };
}

function lastDecisionOf(r: DecisionRecord): NonNullable<StatusSummary['lastDecision']> {
  const judged = r.metrics && r.metrics.length > 0 ? { metrics: r.metrics } : {};
  return { seq: r.seq, decision: r.decision, kind: r.kind, at: r.at, reason: r.reason, actor: r.actor, ...judged };
}

function lastJudgementOf(r: DecisionRecord | null | undefined): StatusSummary['lastJudgement'] {
  if (!r?.metrics || r.metrics.length === 0) return null;
  const where = r.checkpoint ? `checkpoint ${r.checkpoint.index}/${r.checkpoint.of} of ${r.phase ?? '-'}` : `${r.kind} at ${r.phase ?? '-'}`;
  return { seq: r.seq, kind: r.kind, at: r.at, where, metrics: r.metrics };
}

/** The wait named as such: what a person or the clock must do for the rollout to go on. */
function waitText(waitingFor: WaitReason, name: string): string {
  switch (waitingFor) {
    case 'approval':
      return `waiting for approval: rollgate promote ${name}`;
    case 'window':
      return 'waiting for a deployment window';
    case 'blackout':
      return 'waiting for the blackout to end';
    case 'startAt':
      return 'waiting for its startAt';
  }
}

function waitingOf(status: string | null, waitingFor: string | null, name: string, reason: string | null, last: DecisionRecord | null | undefined): StatusSummary['waiting'] {
  if (!waitingFor || (status !== 'waiting' && status !== 'paused')) return null;
  const w = waitingFor as WaitReason;
  const until = last?.decision === 'wait' && last.next ? last.next.at : null;
  return { for: w, text: waitText(w, name), reason, until };
}

function next(status: string, waitingFor: string | null, last: DecisionRecord | undefined, nextAt?: string | null): string {
  if (status === 'complete' || status === 'rolled-back') return '-';
  if (status === 'paused') return 'a person (resume, promote, abort)';
  if (waitingFor === 'approval') return 'approval (rollgate promote)';
  const n = last?.next;
  if (n) return `${n.what} at ${n.at}`;
  return nextAt ? `next action at ${nextAt}` : '-';
}

const nameOf = (id: string) => id.slice(id.indexOf('/') + 1);

export interface StateDirInputs {
  id: string;
  state: RolloutState;
  /** The latest record with metrics (journal-reader.ts lastJudgement), when it is not the last record. */
  judged?: DecisionRecord | null;
  note?: PlanNote | null;
}

/** The summary of a rollout of a state dir, from its replayed state and its plan note. */
export function statusSummary(v: StateDirInputs, clock: OverdueClock = defaultClock()): StatusSummary {
  const s = v.state;
  const last = s.last;
  const note = v.note ?? null;
  const judged = last?.metrics && last.metrics.length > 0 ? last : (v.judged ?? null);
  return {
    rollout: v.id,
    revision: s.revision,
    status: s.status,
    phase: s.phaseName,
    weight: s.weight,
    mirror: s.mirror,
    applied: s.applied ? { weight: s.applied.weight, mirror: s.applied.mirror, at: new Date(s.applied.at).toISOString() } : null,
    waitingFor: s.waitingFor,
    next: next(s.status, s.waitingFor, last ?? undefined),
    lastDecision: last ? lastDecisionOf(last) : null,
    overdue: overdueOf(s.status, s.waitingFor, last?.next, clock),
    nextAction: nextActionOf(s.status, last?.next, clock),
    waiting: waitingOf(s.status, s.waitingFor, nameOf(v.id), s.waitReason, last),
    lastJudgement: lastJudgementOf(judged),
    guard: note?.guard ? { strikes: s.guardStrikes, ...note.guard } : null,
    timeZone: note?.timeZone ?? null,
    planEdit: note?.rejected ? { errors: note.rejected.errors, at: note.rejected.at, runningRevision: note.revision, runningPlanHash: note.planHash } : null,
  };
}

/** The guard as a RolloutPlan's status carries it; anything else (an older controller's status) is null. */
function guardOfStatus(g: unknown): StatusSummary['guard'] {
  const o = g as { strikes?: unknown; consecutive?: unknown; interval?: unknown } | null | undefined;
  if (!o || typeof o.strikes !== 'number' || typeof o.consecutive !== 'number' || typeof o.interval !== 'string') return null;
  return { strikes: o.strikes, consecutive: o.consecutive, interval: o.interval };
}

export interface ClusterInputs {
  leader?: LeaderView;
  /** The message of the latest InvalidPlan Event, when the spec's generation is not applied. */
  rejection?: { message: string; at: string | null } | null;
  /** The plan's time zone from its spec. */
  timeZone?: string | null;
}

/** The time zone of a RolloutPlan's spec (its first deployment window's), null when none or UTC. */
export function specTimeZone(spec: unknown): string | null {
  const windows = (spec as { windows?: unknown } | undefined)?.windows;
  const zone = Array.isArray(windows) ? (windows[0] as { timezone?: unknown } | undefined)?.timezone : undefined;
  return typeof zone === 'string' && zone !== 'UTC' ? zone : null;
}

/** Whether the spec's generation is newer than the one the controller last acted on. */
export function specNotApplied(plan: RolloutPlanObject): boolean {
  const generation = plan.metadata.generation;
  const observed = plan.status?.observedGeneration;
  return typeof generation === 'number' && typeof observed === 'number' && generation > observed;
}

/**
 * The summary of a RolloutPlan from its `.status`. The status carries no applied split
 * (`applied` is null); its guard strikes are as the controller last wrote them (null from a
 * controller that did not write them); `waitingFor` comes from the latest record that began or
 * queued a phase among the status's last records.
 */
export function planStatusSummary(plan: RolloutPlanObject, clock: OverdueClock = defaultClock(), extra: ClusterInputs = {}): StatusSummary {
  const st = plan.status;
  const spec = plan.spec as { revision?: unknown } | undefined;
  const specRevision = typeof spec?.revision === 'string' ? spec.revision : '';
  const timeZone = extra.timeZone ?? specTimeZone(plan.spec);
  const leader = extra.leader ? { leader: extra.leader } : {};
  if (!st || typeof st.status !== 'string') {
    return {
      rollout: objectKey(plan),
      revision: specRevision,
      status: null,
      phase: '',
      weight: null,
      mirror: null,
      applied: null,
      waitingFor: null,
      next: '-',
      lastDecision: null,
      overdue: null,
      nextAction: null,
      waiting: null,
      lastJudgement: null,
      guard: null,
      timeZone,
      planEdit: null,
      note: NOT_SEEN,
      ...leader,
    };
  }
  const records = st.records ?? [];
  const last = records.at(-1);
  const latest = last && last.seq === st.seq ? last : undefined;
  let waitingFor: string | null = null;
  let waitReason: string | null = null;
  for (let i = records.length - 1; i >= 0; i--) {
    const r = records[i]!;
    if (r.decision === 'wait') {
      waitingFor = r.waitingFor ?? null;
      waitReason = r.reason;
    }
    if (r.decision === 'wait' || r.decision === 'start' || r.decision === 'advance') break;
  }
  if (st.status !== 'waiting' && st.status !== 'paused') waitingFor = null;
  let lastDecision: StatusSummary['lastDecision'] = null;
  if (latest) lastDecision = lastDecisionOf(latest);
  else if (st.lastDecision) lastDecision = { seq: st.seq ?? 0, decision: st.lastDecision, kind: null, at: st.lastDecisionAt ?? null, reason: null, actor: null };
  const due = latest?.next ?? (st.nextAt ? { what: 'next action', at: st.nextAt } : null);
  const judged = [...records].reverse().find((r) => r.metrics && r.metrics.length > 0);
  const planEdit: PlanEditView | null = specNotApplied(plan)
    ? {
        errors: extra.rejection ? [extra.rejection.message] : [],
        at: extra.rejection?.at ?? null,
        runningRevision: st.revision ?? specRevision,
        runningPlanHash: st.planHash ?? null,
        generation: plan.metadata.generation!,
        observedGeneration: st.observedGeneration ?? null,
      }
    : null;
  return {
    rollout: objectKey(plan),
    revision: st.revision ?? specRevision,
    status: st.status,
    phase: st.phase ?? '',
    weight: st.weight ?? 0,
    mirror: st.mirror ?? 0,
    applied: null,
    waitingFor,
    next: next(st.status, waitingFor, latest, st.nextAt),
    lastDecision,
    overdue: overdueOf(st.status, waitingFor, due, clock),
    nextAction: nextActionOf(st.status, due, clock),
    waiting: waitingOf(st.status, waitingFor, plan.metadata.name, waitReason, latest),
    lastJudgement: lastJudgementOf(judged),
    guard: guardOfStatus(st.guard),
    timeZone,
    planEdit,
    ...leader,
  };
}
