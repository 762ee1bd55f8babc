/**
 * The journal's sequence contract, checked on append (a violation is a bug) and on read (a
 * violation is corruption): decision seqs are 1, 2, 3... without gaps or duplicates, an applied
 * mark confirms a seq already written, a guard mark follows the last record written, and every
 * entry belongs to the journal's rollout. A journal line may also be a state snapshot
 * (core/snapshot.ts): a cache beside the entries, never part of the sequence, and one that does
 * not parse or check is ignored rather than corruption.
 */
import { checkSnapshot, isSnapshotValue, SNAPSHOT_LINE_PREFIX, type SnapshotCheck } from './snapshot.js';
import { appliedMarkSchema, decisionRecordSchema, guardMarkSchema, isAppliedMark, isGuardMark, type JournalEntry } from './record.js';

/** What is wrong with `entry` coming after `lastSeq` in `rollout`'s journal, or null. */
export function contractViolation(entry: JournalEntry, lastSeq: number, rollout?: string): string | null {
  if (rollout !== undefined && entry.rollout !== rollout) {
    return `entry of rollout "${entry.rollout}" in the journal of "${rollout}"`;
  }
  if (isAppliedMark(entry)) {
    if (entry.applied < 1 || entry.applied > lastSeq) {
      return `applied mark for seq ${entry.applied}, but the last seq is ${lastSeq === 0 ? 'none (empty journal)' : lastSeq}`;
    }
    return null;
  }
  if (isGuardMark(entry)) {
    if (entry.after !== lastSeq) return `guard mark after seq ${entry.after}, but the last seq is ${lastSeq === 0 ? 'none (empty journal)' : lastSeq}`;
    return null;
  }
  if (entry.seq !== lastSeq + 1) {
    const what = entry.seq <= lastSeq ? 'duplicate or out-of-order' : 'gap:';
    return `${what} seq ${entry.seq} after seq ${lastSeq} (expected ${lastSeq + 1})`;
  }
  return null;
}

/**
 * A journal line: an entry, a snapshot line (`check` says whether it can be used), or an
 * invalid line. A line that begins as a snapshot but is not JSON is a snapshot line whose check
 * failed: a snapshot is never needed, so it never makes a journal corrupt.
 */
export type ParsedLine = { ok: true; entry: JournalEntry } | { ok: 'snapshot'; check: SnapshotCheck } | { ok: false; error: string };

/** Parses and validates one journal line against the record schemas (a snapshot line against `rollout`'s). */
export function parseJournalLine(text: string, rollout?: string): ParsedLine {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const error = `not JSON (${(err as Error).message})`;
    if (text.startsWith(SNAPSHOT_LINE_PREFIX)) return { ok: 'snapshot', check: { ok: false, error: `snapshot ${error}` } };
    return { ok: false, error };
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && isSnapshotValue(value)) {
    return { ok: 'snapshot', check: checkSnapshot(value, rollout) };
  }
  return validateJournalEntry(value);
}

/** Validates a parsed decision record or mark (a snapshot is not an entry: see parseJournalLine). */
export function validateJournalEntry(value: unknown): { ok: true; entry: JournalEntry } | { ok: false; error: string } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, error: 'not a JSON object' };
  }
  const [what, schema] = 'applied' in value ? ['applied mark', appliedMarkSchema] : 'strikes' in value ? ['guard mark', guardMarkSchema] : ['decision record', decisionRecordSchema];
  const result = schema.safeParse(value);
  // The original object, not result.data: fields added by a newer rollgate are kept.
  if (result.success) return { ok: true, entry: value as JournalEntry };
  const issues = result.error.issues
    .slice(0, 3)
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
  return { ok: false, error: `invalid ${what}: ${issues}` };
}

/**
 * Whether a snapshot of the state at `seq` can follow the journal line `before`: after the
 * record `seq`, a guard mark after it, an applied mark of a seq up to it, or a snapshot at the
 * same seq. A line that cannot be read proves nothing either way (true).
 */
export function snapshotFollows(before: string, seq: number): boolean {
  const parsed = parseJournalLine(before);
  if (parsed.ok === 'snapshot') return !parsed.check.ok || parsed.check.snapshot.snapshot === seq;
  if (!parsed.ok) return true;
  const e = parsed.entry;
  if (isAppliedMark(e)) return e.applied <= seq;
  if (isGuardMark(e)) return e.after === seq;
  return e.seq === seq;
}
