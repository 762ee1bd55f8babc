/**
 * Bounded journal lines for the ConfigMap journal (a ConfigMap holds at most 1 MiB): before a
 * decision record is stored, over-long free text is cut with a visible marker, and if the line
 * is still over MAX_STORED_LINE_BYTES the per-metric details are left out from the last one
 * back (their number in `metricsOmitted`). What replay reads — seq, decision, kind, phase,
 * split, times, `enters`, `waitingFor`, attempt — is never touched, so the replayed state
 * is the same as from the full record, except for the shortened text in `state.last`.
 * Applied marks are small and stored as they are.
 */
import { isDecisionRecord, type DecisionRecord, type JournalEntry } from '../core/record.js';

/** A stored line is at most this long once bounded (a record whose revision, phase or hash alone exceed it is stored as it is). */
export const MAX_STORED_LINE_BYTES = 16 * 1024;
/** Characters kept of a record's reason, of a metric's query, of a metric's reason. */
export const MAX_REASON_CHARS = 2048;
export const MAX_QUERY_CHARS = 1024;
export const MAX_METRIC_REASON_CHARS = 512;

/** `text` cut to `max` characters, with a marker saying how many were not stored. */
export function truncateText(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}… [${text.length - max} more characters not stored]`;
}

const bytes = (e: JournalEntry) => Buffer.byteLength(JSON.stringify(e));

/** The entry as the ConfigMap journal stores it (the same object when nothing needs cutting). */
export function boundEntry(entry: JournalEntry): JournalEntry {
  if (!isDecisionRecord(entry) || bytes(entry) <= MAX_STORED_LINE_BYTES) return entry;
  const r: DecisionRecord & { metricsOmitted?: number } = {
    ...entry,
    reason: truncateText(entry.reason, MAX_REASON_CHARS),
    ...(entry.metrics
      ? {
          metrics: entry.metrics.map((m) => ({
            ...m,
            query: truncateText(m.query, MAX_QUERY_CHARS),
            ...(m.reason !== undefined ? { reason: truncateText(m.reason, MAX_METRIC_REASON_CHARS) } : {}),
          })),
        }
      : {}),
    ...(entry.next ? { next: { ...entry.next, what: truncateText(entry.next.what, MAX_METRIC_REASON_CHARS) } } : {}),
  };
  const all = r.metrics?.length ?? 0;
  while (r.metrics && r.metrics.length > 0 && bytes(r) > MAX_STORED_LINE_BYTES) {
    r.metrics = r.metrics.slice(0, -1);
    r.metricsOmitted = all - r.metrics.length;
  }
  return r;
}
