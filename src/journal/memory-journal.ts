/**
 * A journal held in memory, with the same contract checks as the file journal: used by
 * `simulate` (which must touch nothing) and by tests.
 */
import { isAppliedMark, type JournalEntry } from '../core/record.js';
import { JournalContractError, type Journal } from '../core/journal.js';

export class MemoryJournal implements Journal {
  private readonly entries = new Map<string, JournalEntry[]>();
  private readonly lastSeq = new Map<string, number>();

  async read(rollout: string): Promise<JournalEntry[]> {
    return [...(this.entries.get(rollout) ?? [])];
  }

  async append(rollout: string, entry: JournalEntry): Promise<void> {
    const last = this.lastSeq.get(rollout) ?? 0;
    if (isAppliedMark(entry)) {
      if (entry.applied < 1 || entry.applied > last) {
        throw new JournalContractError(rollout, `applied mark for seq ${entry.applied}, but the last seq is ${last}`);
      }
    } else {
      if (entry.seq !== last + 1) throw new JournalContractError(rollout, `seq ${entry.seq} after ${last}: expected ${last + 1}`);
      this.lastSeq.set(rollout, entry.seq);
    }
    const list = this.entries.get(rollout) ?? [];
    list.push(entry);
    this.entries.set(rollout, list);
  }

  async rollouts(): Promise<string[]> {
    return [...this.entries.keys()].sort();
  }

  async close(): Promise<void> {}
}
