/**
 * Journal fixtures: a decision record of rollout `learning/analyzer` (a `start` at seq 1, then
 * checkpoint `continue`s one second apart), with any field overridden.
 */
import type { DecisionRecord } from '../../src/core/record.js';

export const ROLLOUT = 'learning/analyzer';

export function record(seq: number, over: Partial<DecisionRecord> = {}): DecisionRecord {
  return {
    seq,
    rollout: ROLLOUT,
    revision: '2025.11.1',
    planHash: 'sha256:abc',
    kind: seq === 1 ? 'lifecycle' : 'checkpoint',
    phase: 'canary',
    phaseIndex: 0,
    at: new Date(Date.UTC(2025, 10, 1, 14, 0, seq)).toISOString(),
    decision: seq === 1 ? 'start' : 'continue',
    reason: `record ${seq}`,
    weight: { from: 0, to: 10 },
    mirror: { from: 0, to: 0 },
    actor: 'controller',
    ...over,
  };
}
