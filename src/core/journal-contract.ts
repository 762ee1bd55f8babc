/**
 * The journal's sequence contract, checked on append (a violation is a bug) and on read (a
 * violation is corruption): decision seqs are 1, 2, 3... without gaps or duplicates, an applied
 * mark confirms a seq already written, a guard mark follows the last record written, and every
 * entry belongs to the journal's rollout.
 */
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

export type ParsedLine = { ok: true; entry: JournalEntry } | { ok: false; error: string };

/** Parses and validates one journal line against the record schemas. */
export function parseJournalLine(text: string): ParsedLine {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: `not JSON (${(err as Error).message})` };
  }
  return validateJournalEntry(value);
}

export function validateJournalEntry(value: unknown): ParsedLine {
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
