/**
 * When a rollout next needs the controller: its pending checkpoint (and the evidence span it
 * judges), a gate that opens, a gradual rollback step, a router apply retried. Guard ticks are
 * scheduled by the runner.
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
function checkpointWindow(dues: number[], index: number, windowOpen: number): number {
  return dues[index]! - (index > 0 ? dues[index - 1]! : windowOpen);
}

export interface ScheduleOptions {
  /** simulate grants approvals at once. */
  autoApprove?: boolean;
}

/** The rollout's own decision that is due next (guard ticks aside), and when. */
export type DueDecision =
  | { what: 'start'; at: number }
  /** A waiting rollout: its phase's gates open (or simulate approves it). */
  | { what: 'gate'; at: number }
  | { what: 'rollback-step'; at: number }
  | { what: 'checkpoint'; at: number; checkpoint: PendingCheckpoint };

/** The next decision of the rollout's own (guard excluded); null: none until something changes. */
export function dueDecision(plan: Plan, s: RolloutState, now: number, opts: ScheduleOptions = {}): DueDecision | null {
  if (s.seq === 0) return { what: 'start', at: now };
  switch (s.status) {
    case 'complete':
    case 'rolled-back':
    case 'paused':
      return null;
    case 'rolling-back':
      return s.rollbackNextAt === null ? null : { what: 'rollback-step', at: s.rollbackNextAt };
    case 'waiting': {
      const gate = phaseGate(plan, s, s.phaseIndex, now);
      const at = !gate || (gate.waitingFor === 'approval' && opts.autoApprove) ? now : gate.until;
      return at === null ? null : { what: 'gate', at };
    }
    case 'progressing': {
      if (!splitConfirmed(s)) return null;
      const checkpoint = pendingCheckpoint(plan, s);
      return checkpoint ? { what: 'checkpoint', at: checkpoint.due, checkpoint } : null;
    }
  }
}

const APPLY_RETRY_MIN_MS = 2_000;
const APPLY_RETRY_MAX_MS = 60_000;

/** How long after the `failures`-th failure in a row a router apply is tried again: 2 s doubling to 60 s. */
export function applyRetryDelay(failures: number): number {
  return Math.min(APPLY_RETRY_MAX_MS, APPLY_RETRY_MIN_MS * 2 ** (failures - 1));
}
