/**
 * What the runner does when it reads the router back (on start, and at each drift check):
 * nothing, re-apply the journalled split, or confirm it with the applied mark that never
 * reached the journal. Pure: the journal's state and what the router reported.
 */
import { sameSplit, type Split } from '../core/router.js';
import { splitConfirmed, type RolloutState } from '../core/state.js';

export type Reconcile = 'in-sync' | 'reapply' | 'confirm';

/**
 * Whether rollgate has decided a split for this rollout yet. Until it has (queued outside its
 * window, waiting for startAt), its router was never touched: nothing to read back, re-apply
 * or confirm (an applied mark needs the seq of a deciding record).
 */
export function routerTouched(s: RolloutState): boolean {
  return s.splitSeq > 0;
}

/** `actual` is the router's split, null when it could not be read (re-applied then). */
export function reconcileRouter(s: RolloutState, actual: Split | null): Reconcile {
  if (!routerTouched(s)) return 'in-sync';
  const want = { weight: s.weight, mirror: s.mirror };
  // A router that rounds (HAProxy's integer weights, nginx's 0.01%) reports what it applied:
  // compare with that, as well as with the decided split.
  const effective = splitConfirmed(s) ? s.applied?.effective : undefined;
  const agrees = actual !== null && (sameSplit(actual, effective ?? want) || sameSplit(actual, want));
  if (!agrees) return 'reapply';
  return splitConfirmed(s) ? 'in-sync' : 'confirm';
}
