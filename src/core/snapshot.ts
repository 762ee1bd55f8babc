/**
 * The state snapshot: a journal line that holds `replay(entries before it)`, so that a start
 * replays only what follows the last one instead of the whole journal. It sits beside the
 * records and marks, like them one JSON object per line:
 *
 *   {"snapshot":42,"rollout":"learning/analyzer","at":"…","state":{…RolloutState…}}
 *
 * `snapshot` is the seq of the last record before it (`state.seq`). A snapshot is a cache,
 * never the truth: the records and marks are the journal, a snapshot can always be dropped,
 * and one that does not fit (unparsable, another rollout, a seq the lines after it contradict)
 * is ignored and replay starts from an earlier one or from the beginning. The file journal
 * writes one every N entries and at each phase end (src/journal/file-journal.ts), the
 * ConfigMap journal one as the base of a compaction (src/cluster/journal-compaction.ts).
 */
import { z } from 'zod';
import { decisionRecordSchema, RECORD_KINDS } from './record.js';
import type { RolloutState } from './state.js';

const STATUSES = ['waiting', 'progressing', 'paused', 'rolling-back', 'rolled-back', 'complete'] as const;
const WAIT_REASONS = ['approval', 'window', 'blackout', 'startAt'] as const;

const nullableNumber = z.number().nullable();

/** RolloutState as JSON (src/core/state.ts); fields a newer rollgate adds are kept as they are. */
export const rolloutStateSchema = z.object({
  rollout: z.string(),
  revision: z.string(),
  planHash: z.string(),
  seq: z.number().int().nonnegative(),
  status: z.enum(STATUSES),
  phaseIndex: z.number().int(),
  phaseName: z.string(),
  phaseStartedAt: nullableNumber,
  phaseStartSeq: z.number().int().nonnegative(),
  waitingFor: z.enum(WAIT_REASONS).nullable(),
  waitReason: z.string().nullable(),
  approvedPhase: nullableNumber,
  checkpointIndex: z.number().int().nonnegative(),
  evidenceFrom: nullableNumber,
  inconclusive: z.number().int().nonnegative(),
  retryAt: nullableNumber,
  resumedAt: nullableNumber,
  weight: z.number(),
  mirror: z.number(),
  splitSeq: z.number().int().nonnegative(),
  /** Absent in snapshots written before it existed: replay gives it its initial value. */
  splitAppliedAt: nullableNumber.optional(),
  applied: z
    .object({
      seq: z.number().int(),
      weight: z.number(),
      mirror: z.number(),
      at: z.number(),
      effective: z.object({ weight: z.number(), mirror: z.number() }).optional(),
    })
    .nullable(),
  pausedFrom: z.enum(STATUSES).nullable(),
  rollbackNextAt: nullableNumber,
  rollbackKind: z.enum(RECORD_KINDS).nullable(),
  guardStrikes: z.number().int().nonnegative(),
  last: decisionRecordSchema.nullable(),
});

export const stateSnapshotSchema = z.object({
  snapshot: z.number().int().nonnegative(),
  rollout: z.string(),
  at: z.string(),
  state: rolloutStateSchema,
});

export interface StateSnapshot {
  /** The seq of the last record before the snapshot: `state.seq`. */
  snapshot: number;
  rollout: string;
  /** When it was written. */
  at: string;
  state: RolloutState;
}

/** What a snapshot line starts with: how a reader going backwards recognises one without parsing. */
export const SNAPSHOT_LINE_PREFIX = '{"snapshot":';

/** The snapshot of `state` as one journal line (no newline); its key order puts SNAPSHOT_LINE_PREFIX first. */
export function snapshotLine(state: RolloutState, at: string): string {
  const s: StateSnapshot = { snapshot: state.seq, rollout: state.rollout, at, state };
  return JSON.stringify(s);
}

/** Whether a parsed journal line is a snapshot (and not a record or mark). */
export function isSnapshotValue(value: object): boolean {
  return 'snapshot' in value && 'state' in value;
}

export type SnapshotCheck = { ok: true; snapshot: StateSnapshot } | { ok: false; error: string };

/** Validates a parsed snapshot line as one of `rollout`'s (when given): its schema and its own consistency. */
export function checkSnapshot(value: unknown, rollout?: string): SnapshotCheck {
  const result = stateSnapshotSchema.safeParse(value);
  if (!result.success) {
    const issues = result.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
      .join('; ');
    return { ok: false, error: `invalid snapshot: ${issues}` };
  }
  // The original object, not result.data: fields added by a newer rollgate are kept.
  const s = value as StateSnapshot;
  if (rollout !== undefined && (s.rollout !== rollout || s.state.rollout !== rollout)) {
    return { ok: false, error: `snapshot of rollout "${s.state.rollout}" in the journal of "${rollout}"` };
  }
  if (s.state.seq !== s.snapshot) return { ok: false, error: `snapshot ${s.snapshot} holds the state at seq ${s.state.seq}` };
  return { ok: true, snapshot: s };
}
