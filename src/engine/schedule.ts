/**
 * When a rollout next needs the controller: its pending checkpoint (and the evidence span it
 * judges), a gate that opens, a gradual rollback step. Guard ticks are scheduled by the runner.
 */
import type { Plan } from '../plan/schema.js';
import { checkpointDueTimes, judgementTime } from '../plan/checkpoints.js';
import type { RolloutState } from '../core/state.js';
import { splitConfirmed } from '../core/state.js';
import { phaseGate } from './phase-start.js';

export interface PendingCheckpoint {
  /** 0-based index in the phase. */
  index: number;
  of: number;
  /** The instant it is judged at (its due time, or the retry time after a hold or a resume). */
  due: number;
  /** Start of the evidence span: the previous passed checkpoint, or the window opening. */
  from: number;
}

/** The checkpoint the current phase judges next, or null when the phase has not begun. */
export function pendingCheckpoint(plan: Plan, s: RolloutState): PendingCheckpoint | null {
  if (s.phaseStartedAt === null) return null;
  const phase = plan.spec.phases[s.phaseIndex];
  if (!phase || phase.name !== s.phaseName) return null;
  const windowOpen = s.phaseStartedAt + phase.settle;
  const dues = checkpointDueTimes(phase, windowOpen);
  const index = Math.min(s.checkpointIndex, dues.length - 1);
  const from = s.evidenceFrom ?? windowOpen;
  const retryInterval = plan.spec.analysis.retryInterval;
  let at = Math.max(dues[index]!, s.retryAt ?? -Infinity);
  if (s.resumedAt !== null) at = Math.max(at, s.resumedAt + Math.max(checkpointWindow(dues, index, windowOpen), retryInterval));
  const due = judgementTime(at, from, retryInterval);
  return { index, of: dues.length, due, from };
}

/**
 * A checkpoint's own window as the plan schedules it: from the previous checkpoint (or the
 * window opening) to its due time.
 */
export function checkpointWindow(dues: number[], index: number, windowOpen: number): number {
  return dues[index]! - (index > 0 ? dues[index - 1]! : windowOpen);
}

export interface ScheduleOptions {
  /** simulate grants approvals at once. */
  autoApprove?: boolean;
}

/** The next instant the rollout's own decisions are due (guard excluded); null: none. */
export function nextDecisionAt(plan: Plan, s: RolloutState, now: number, opts: ScheduleOptions = {}): number | null {
  if (s.seq === 0) return now;
  switch (s.status) {
    case 'complete':
    case 'rolled-back':
    case 'paused':
      return null;
    case 'rolling-back':
      return s.rollbackNextAt;
    case 'waiting': {
      const gate = phaseGate(plan, s, s.phaseIndex, now);
      if (!gate) return now;
      if (gate.waitingFor === 'approval') return opts.autoApprove ? now : null;
      return gate.until;
    }
    case 'progressing': {
      if (!splitConfirmed(s)) return null;
      return pendingCheckpoint(plan, s)?.due ?? null;
    }
  }
}
