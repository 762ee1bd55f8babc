/**
 * The decision records a rollout page shows: the latest `limit` of a rollout's journal, read
 * through it (never all held at once), and how many older ones were left out.
 */
import { isDecisionRecord, type DecisionRecord } from '../core/record.js';
import type { FileJournal } from '../journal/file-journal.js';

export interface RecordsRead {
  /** Oldest first. */
  records: DecisionRecord[];
  /** Older records left out. */
  omitted: number;
}

/** Keeps the last `limit` of the records pushed into it, in a ring. */
export class LatestRecords {
  private readonly ring: DecisionRecord[] = [];
  private next = 0;
  private seen = 0;

  constructor(private readonly limit: number) {}

  push(r: DecisionRecord): void {
    this.seen++;
    if (this.limit <= 0) return;
    if (this.ring.length < this.limit) this.ring.push(r);
    else this.ring[this.next] = r;
    this.next = (this.next + 1) % this.limit;
  }

  result(): RecordsRead {
    const records = this.ring.length < this.limit ? [...this.ring] : [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)];
    return { records, omitted: this.seen - records.length };
  }
}

/** The latest `limit` records of a rollout's JSONL journal, streamed (after the appends queued before it). */
export async function latestFileRecords(journal: FileJournal, id: string, limit: number): Promise<RecordsRead> {
  const latest = new LatestRecords(limit);
  await journal.scan(id, (e) => {
    if (isDecisionRecord(e)) latest.push(e);
  });
  return latest.result();
}
