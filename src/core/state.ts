/**
 * A rollout's state is a fold of its journal: `replay(entries)`. Nothing else is persisted,
 * so a restarted controller continues exactly where the journal says it was.
 */
import type { AppliedMark, DecisionRecord, JournalEntry } from './record.js';
import { isAppliedMark, isGuardMark } from './record.js';

export type RolloutStatus = 'waiting' | 'progressing' | 'paused' | 'rolling-back' | 'rolled-back' | 'complete';
export type WaitReason = 'approval' | 'window' | 'blackout' | 'startAt';

export const TERMINAL: readonly RolloutStatus[] = ['rolled-back', 'complete'];

export interface RolloutState {
  rollout: string;
  revision: string;
  planHash: string;
  /** Last journalled seq (0 before the first record). */
  seq: number;
  status: RolloutStatus;
  /** The phase the rollout is in, or (while waiting to begin one) the phase it waits for. */
  phaseIndex: number;
  phaseName: string;
  /** When the phase's split was applied (its checkpoint clock starts here + settle). */
  phaseStartedAt: number | null;
  /** Seq of the record that began the current phase; its applied mark moves phaseStartedAt. */
  phaseStartSeq: number;
  waitingFor: WaitReason | null;
  /** The latest wait reason text, so an unchanged wait is not journalled again. */
  waitReason: string | null;
  /** Phase index whose approval was granted. */
  approvedPhase: number | null;
  /** Index of the next checkpoint of the phase to judge. */
  checkpointIndex: number;
  /** Start of the evidence span of the next judgement (null: the phase's window opening). */
  evidenceFrom: number | null;
  /** Consecutive inconclusive judgements of the pending checkpoint. */
  inconclusive: number;
  /** When the pending checkpoint is judged again (after a hold). */
  retryAt: number | null;
  /**
   * When the rollout was last resumed while the pending checkpoint was open: that checkpoint
   * then gets a full window of evidence after the resume (engine/schedule.ts, pendingCheckpoint).
   */
  resumedAt: number | null;
  /** The decided split. */
  weight: number;
  mirror: number;
  /** Seq of the latest record that changed the split. */
  splitSeq: number;
  /**
   * When a router first confirmed that split (null until then): the start of the live split's
   * evidence, e.g. the counts window of a sequential metric the guard watches while the
   * rollout waits to begin the next phase.
   */
  splitAppliedAt: number | null;
  /** The latest split a router confirmed. */
  applied: { seq: number; weight: number; mirror: number; at: number; effective?: { weight: number; mirror: number } } | null;
  /** Status to return to on resume. */
  pausedFrom: RolloutStatus | null;
  /** While rolling back gradually: when the next step is due. */
  rollbackNextAt: number | null;
  /** Kind of the record that started the rollback (its steps carry the same kind). */
  rollbackKind: DecisionRecord['kind'] | null;
  /**
   * The guard's strikes: its consecutive failing evaluations, as the last guard mark says; 0
   * whenever the guard stops watching (see guardWatches) and after a guard rollback.
   */
  guardStrikes: number;
  last: DecisionRecord | null;
}

export function initialState(rollout: string): RolloutState {
  return {
    rollout,
    revision: '',
    planHash: '',
    seq: 0,
    status: 'waiting',
    phaseIndex: 0,
    phaseName: '',
    phaseStartedAt: null,
    phaseStartSeq: 0,
    waitingFor: null,
    waitReason: null,
    approvedPhase: null,
    checkpointIndex: 0,
    evidenceFrom: null,
    inconclusive: 0,
    retryAt: null,
    resumedAt: null,
    weight: 0,
    mirror: 0,
    splitSeq: 0,
    splitAppliedAt: null,
    applied: null,
    pausedFrom: null,
    rollbackNextAt: null,
    rollbackKind: null,
    guardStrikes: 0,
    last: null,
  };
}

/**
 * The state after `entries`, replayed from `base` (the state of a snapshot, core/snapshot.ts,
 * that precedes them) or from the initial state.
 */
export function replay(rollout: string, entries: Iterable<JournalEntry>, base?: RolloutState | null): RolloutState {
  // A snapshot written before a field existed gets the field's initial value.
  let state = base ? { ...initialState(rollout), ...structuredClone(base) } : initialState(rollout);
  for (const e of entries) state = applyEntry(state, e);
  return state;
}

export function applyEntry(state: RolloutState, e: JournalEntry): RolloutState {
  if (isAppliedMark(e)) return applyMark(state, e);
  if (isGuardMark(e)) return { ...state, guardStrikes: e.strikes };
  return applyRecord(state, e);
}

function applyMark(state: RolloutState, m: AppliedMark): RolloutState {
  const at = Date.parse(m.at);
  const s = { ...state, applied: { seq: m.applied, weight: m.weight, mirror: m.mirror, at, ...(m.effective ? { effective: m.effective } : {}) } };
  // The phase clock starts when its split is first in effect (a later re-apply on restart
  // does not move it).
  const first = (state.applied?.seq ?? 0) < state.phaseStartSeq;
  if (first && m.applied === state.phaseStartSeq && state.phaseStartedAt !== null) s.phaseStartedAt = at;
  if ((state.applied?.seq ?? 0) < state.splitSeq && m.applied >= state.splitSeq) s.splitAppliedAt = at;
  return clearStrikes(s);
}

const nextAt = (r: DecisionRecord) => (r.next ? Date.parse(r.next.at) : null);

/** Resets the per-phase judgement position when a phase begins. */
function beginPhase(s: RolloutState, r: DecisionRecord): RolloutState {
  return {
    ...s,
    status: 'progressing',
    phaseIndex: r.enters?.index ?? r.phaseIndex,
    phaseName: r.enters?.phase ?? r.phase ?? '',
    phaseStartedAt: Date.parse(r.at),
    phaseStartSeq: r.seq,
    waitingFor: null,
    waitReason: null,
    checkpointIndex: 0,
    evidenceFrom: null,
    inconclusive: 0,
    retryAt: null,
    resumedAt: null,
  };
}

export function applyRecord(state: RolloutState, r: DecisionRecord): RolloutState {
  let s: RolloutState = {
    ...state,
    seq: r.seq,
    revision: r.revision,
    planHash: r.planHash,
    weight: r.weight.to,
    mirror: r.mirror.to,
    last: r,
  };
  if (r.weight.to !== r.weight.from || r.mirror.to !== r.mirror.from) {
    s.splitSeq = r.seq;
    s.splitAppliedAt = null;
  }

  switch (r.decision) {
    case 'start':
      s = beginPhase({ ...s, approvedPhase: null, pausedFrom: null, rollbackNextAt: null, rollbackKind: null }, r);
      break;
    case 'advance':
      s = beginPhase(s, r);
      break;
    case 'wait':
      s.status = 'waiting';
      s.waitingFor = r.waitingFor ?? null;
      s.waitReason = r.reason;
      s.phaseIndex = r.enters?.index ?? s.phaseIndex;
      s.phaseName = r.enters?.phase ?? s.phaseName;
      s.phaseStartedAt = null;
      break;
    case 'continue':
      s.checkpointIndex = state.checkpointIndex + 1;
      s.evidenceFrom = r.checkpoint ? Date.parse(r.checkpoint.due) : Date.parse(r.at);
      s.inconclusive = 0;
      s.retryAt = null;
      s.resumedAt = null;
      break;
    case 'hold':
      // A checkpoint that holds is judged again later; a router that failed to apply a split
      // also holds the rollout, but that changes nothing in the checkpoint's position.
      if (r.kind === 'checkpoint') {
        s.inconclusive = r.checkpoint?.attempt ?? state.inconclusive + 1;
        s.retryAt = nextAt(r);
      }
      break;
    case 'complete':
      s.status = 'complete';
      s.retryAt = null;
      break;
    case 'pause':
      if (state.status !== 'paused') s.pausedFrom = state.status;
      s.status = 'paused';
      if (r.checkpoint?.attempt !== undefined) s.inconclusive = r.checkpoint.attempt;
      break;
    case 'resume':
      s.status = state.pausedFrom ?? 'progressing';
      s.pausedFrom = null;
      s.inconclusive = 0;
      s.retryAt = null;
      s.resumedAt = Date.parse(r.at);
      break;
    case 'abort':
      s.status = 'rolling-back';
      s.pausedFrom = null;
      break;
    case 'rollback': {
      const done = r.weight.to === 0 && r.mirror.to === 0;
      s.status = done ? 'rolled-back' : 'rolling-back';
      s.pausedFrom = null;
      s.rollbackNextAt = done ? null : nextAt(r);
      s.rollbackKind = state.status === 'rolling-back' && state.rollbackKind ? state.rollbackKind : r.kind;
      if (done) s.rollbackKind = null;
      break;
    }
    case 'promote':
      if (r.enters) s.approvedPhase = r.enters.index;
      break;
    case 'plan-updated':
      if (r.enters) {
        s.phaseIndex = r.enters.index;
        s.phaseName = r.enters.phase;
      }
      break;
  }
  return clearStrikes(s);
}

/** Strikes only count while the guard watches: once it stops (a rollback, no traffic), they are gone. */
function clearStrikes(s: RolloutState): RolloutState {
  return s.guardStrikes !== 0 && !guardWatches(s) ? { ...s, guardStrikes: 0 } : s;
}

/**
 * Whether the guard watches the rollout (when the plan gives it metrics): while it progresses,
 * waits or is paused, and the canary gets traffic (the live split, applied or not yet).
 */
export function guardWatches(s: RolloutState): boolean {
  if (s.status !== 'progressing' && s.status !== 'waiting' && s.status !== 'paused') return false;
  const live = liveSplit(s);
  return live.weight !== 0 || live.mirror !== 0;
}

export function isTerminal(s: RolloutState): boolean {
  return TERMINAL.includes(s.status);
}

/** The split in effect on the router: the decided one once confirmed, else the last applied. */
export function liveSplit(s: RolloutState): { weight: number; mirror: number } {
  if (splitConfirmed(s)) return { weight: s.weight, mirror: s.mirror };
  return { weight: s.applied?.weight ?? 0, mirror: s.applied?.mirror ?? 0 };
}

/** True when the router confirmed the latest decided split. */
export function splitConfirmed(s: RolloutState): boolean {
  return s.splitSeq === 0 || (s.applied !== null && s.applied.seq >= s.splitSeq);
}
