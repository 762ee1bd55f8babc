/**
 * Compaction of a rollout's journal in its ConfigMap (ConfigMaps hold at most 1 MiB). The
 * oldest entries are dropped, but only at a cut the engine cannot tell from the whole
 * journal: the state replayed from the kept entries must equal the state replayed from all
 * of them (checked, not assumed), so `state = replay(journal)` stays true after compaction.
 * In practice the cuts are the `start` and `advance` records that begin a phase.
 *
 * What was dropped is summed up in `compacted.json`: the seqs it covered (the kept journal is
 * gapless from `throughSeq + 1`), the span of time, and the count of each decision, so the
 * totals in `status.counts` survive compaction.
 */
import { replay } from '../controller/state.js';
import { isAppliedMark, type JournalEntry } from '../journal/record.js';

export interface CompactedSummary {
  /** Last decision seq dropped; the kept journal starts at throughSeq + 1. */
  throughSeq: number;
  /** Decision records and applied marks dropped, over all compactions. */
  records: number;
  marks: number;
  bytes: number;
  /** `at` of the first and of the last record dropped. */
  from: string | null;
  to: string | null;
  /** Dropped decisions by kind of decision (`continue: 40`...). */
  counts: Record<string, number>;
  compactions: number;
  /** When the last compaction ran. */
  at: string;
}

export interface CompactionResult {
  /** Index of the first entry kept. */
  cut: number;
  summary: CompactedSummary;
}

const stateKey = (rollout: string, entries: readonly JournalEntry[]) => JSON.stringify(replay(rollout, entries));

/**
 * The earliest cut that brings the journal (its `lines`, one per entry, newline included in
 * the byte count) down to `targetBytes` without changing the replayed state, or null when no
 * such cut exists (then the journal cannot be compacted below the target).
 */
export function compactJournal(
  rollout: string,
  entries: readonly JournalEntry[],
  lines: readonly string[],
  previous: CompactedSummary | null,
  targetBytes: number,
  now: string,
): CompactionResult | null {
  const sizes = lines.map((l) => Buffer.byteLength(l) + 1);
  let kept = sizes.reduce((a, b) => a + b, 0);
  const lastRecord = entries.findLastIndex((e) => !isAppliedMark(e));
  if (lastRecord <= 0) return null;
  const full = stateKey(rollout, entries);
  for (let cut = 1; cut <= lastRecord; cut++) {
    kept -= sizes[cut - 1]!;
    if (kept > targetBytes || isAppliedMark(entries[cut]!)) continue;
    if (stateKey(rollout, entries.slice(cut)) !== full) continue;
    return { cut, summary: summarize(entries.slice(0, cut), sizes.slice(0, cut), previous, now) };
  }
  return null;
}

function summarize(dropped: readonly JournalEntry[], sizes: readonly number[], prev: CompactedSummary | null, now: string): CompactedSummary {
  const s: CompactedSummary = prev
    ? { ...prev, counts: { ...prev.counts }, compactions: prev.compactions + 1, at: now }
    : { throughSeq: 0, records: 0, marks: 0, bytes: 0, from: null, to: null, counts: {}, compactions: 1, at: now };
  for (const [i, e] of dropped.entries()) {
    s.bytes += sizes[i]!;
    if (isAppliedMark(e)) {
      s.marks++;
      continue;
    }
    s.records++;
    s.throughSeq = e.seq;
    s.from ??= e.at;
    s.to = e.at;
    s.counts[e.decision] = (s.counts[e.decision] ?? 0) + 1;
  }
  return s;
}
