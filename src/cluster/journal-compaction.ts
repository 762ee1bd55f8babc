/**
 * Compaction of a rollout's journal in its ConfigMap (ConfigMaps hold at most 1 MiB). The
 * oldest entries are dropped, and the cut can always be made:
 *
 * - preferably at a cut the engine cannot tell from the whole journal, where the state
 *   replayed from the kept entries alone equals the state replayed from all of them (in
 *   practice the `start` and `advance` records that begin a phase);
 * - else anywhere, even inside one long phase: the state replayed through the dropped entries
 *   is kept as a state snapshot (core/snapshot.ts; the first line of `journal.jsonl`) and
 *   replay starts from it.
 *
 * Either way the replayed state is checked, not assumed, to equal the state replayed from the
 * whole journal (after a JSON round trip of the snapshot), so `state = replay(journal)` stays
 * true after compaction.
 *
 * What was dropped is summed up in `compacted.json`: the seqs it covered (the kept journal is
 * gapless from `throughSeq + 1`), the span of time, and the count of each decision, so the
 * totals in `status.counts` survive compaction.
 */
import { replay, type RolloutState } from '../core/state.js';
import { isDecisionRecord, type JournalEntry } from '../core/record.js';

export interface CompactedSummary {
  /** Last decision seq dropped; the kept journal starts at throughSeq + 1. */
  throughSeq: number;
  /** Decision records and marks (applied and guard marks) dropped, over all compactions. */
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
  /**
   * Written by rollgate before state snapshots only (read, never written): the state replayed
   * through `throughSeq`, which replay starts from. Now the snapshot line of `journal.jsonl`.
   */
  base?: RolloutState;
}

export interface CompactionResult {
  /** Index of the first entry kept. */
  cut: number;
  summary: CompactedSummary;
  /** The state at the cut, when the kept entries do not begin a phase: replay starts from it (a snapshot). */
  base: RolloutState | null;
}

const stateKey = (rollout: string, entries: readonly JournalEntry[], base: RolloutState | null) => JSON.stringify(replay(rollout, entries, base));

/**
 * The earliest cut that brings the journal (its `lines`, one per entry, newline included in
 * the byte count; replayed from `prevBase`, the previous compaction's snapshot) down to
 * `targetBytes` with the replayed state unchanged: a cut needing no snapshot if one fits, else
 * a cut with a snapshot of the state at the cut. Null only when the last entry alone is over
 * the target. At least the last entry is always kept.
 */
export function compactJournal(
  rollout: string,
  entries: readonly JournalEntry[],
  lines: readonly string[],
  previous: CompactedSummary | null,
  prevBase: RolloutState | null,
  targetBytes: number,
  now: string,
): CompactionResult | null {
  const sizes = lines.map((l) => Buffer.byteLength(l) + 1);
  const full = stateKey(rollout, entries, prevBase);
  const first = firstCutUnder(sizes, targetBytes);
  if (first === null) return null;
  // A cut at which replay needs no snapshot: only a record that begins a phase can be one.
  for (let cut = first; cut < entries.length; cut++) {
    const e = entries[cut]!;
    if (!isDecisionRecord(e) || (e.decision !== 'start' && e.decision !== 'advance')) continue;
    if (stateKey(rollout, entries.slice(cut), null) !== full) continue;
    return { cut, summary: summarize(entries.slice(0, cut), sizes.slice(0, cut), previous, now), base: null };
  }
  // Any cut, with the state at the cut as the snapshot replay starts from.
  for (let cut = first; cut < entries.length; cut++) {
    const base = JSON.parse(JSON.stringify(replay(rollout, entries.slice(0, cut), prevBase))) as RolloutState;
    if (stateKey(rollout, entries.slice(cut), base) !== full) continue;
    return { cut, summary: summarize(entries.slice(0, cut), sizes.slice(0, cut), previous, now), base };
  }
  return null;
}

/** The smallest cut (index of the first entry kept, at least 1, keeping the last) leaving at most `target` bytes. */
function firstCutUnder(sizes: readonly number[], target: number): number | null {
  let kept = sizes.reduce((a, b) => a + b, 0);
  for (let cut = 1; cut < sizes.length; cut++) {
    kept -= sizes[cut - 1]!;
    if (kept <= target) return cut;
  }
  return null;
}
function summarize(dropped: readonly JournalEntry[], sizes: readonly number[], prev: CompactedSummary | null, now: string): CompactedSummary {
  const s: CompactedSummary = prev
    ? { ...prev, counts: { ...prev.counts }, compactions: prev.compactions + 1, at: now }
    : { throughSeq: 0, records: 0, marks: 0, bytes: 0, from: null, to: null, counts: {}, compactions: 1, at: now };
  for (const [i, e] of dropped.entries()) {
    s.bytes += sizes[i]!;
    if (!isDecisionRecord(e)) {
      s.marks++;
      continue;
    }
    s.records++;
    s.throughSeq = e.seq;
    s.from ??= e.at;
    s.to = e.at;
    s.counts[e.decision] = (s.counts[e.decision] ?? 0) + 1;
  }
  delete s.base; // a base of an earlier version is now the snapshot line
  return s;
}
