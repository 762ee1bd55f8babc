/**
 * A journal held in memory, with the same sequence contract as the file journal
 * (`contractViolation`, core/journal-contract.ts): used by `simulate` (which must touch nothing)
 * and by tests.
 */
import { isDecisionRecord, type JournalEntry } from '../core/record.js';
import { JournalContractError, type Journal } from '../core/journal.js';
import { contractViolation } from '../core/journal-contract.js';
import { replay, type RolloutState } from '../core/state.js';

export class MemoryJournal implements Journal {
  private readonly entries = new Map<string, JournalEntry[]>();
  private readonly lastSeq = new Map<string, number>();

  async read(rollout: string): Promise<JournalEntry[]> {
    return [...(this.entries.get(rollout) ?? [])];
  }

  async replay(rollout: string): Promise<RolloutState> {
    return replay(rollout, this.entries.get(rollout) ?? []);
  }

  async append(rollout: string, entry: JournalEntry): Promise<void> {
    const problem = contractViolation(entry, this.lastSeq.get(rollout) ?? 0, rollout);
    if (problem) throw new JournalContractError(rollout, `${problem}; refusing to write`);
    if (isDecisionRecord(entry)) this.lastSeq.set(rollout, entry.seq);
    const list = this.entries.get(rollout) ?? [];
    list.push(entry);
    this.entries.set(rollout, list);
  }

  async rollouts(): Promise<string[]> {
    return [...this.entries.keys()].sort();
  }

  async close(): Promise<void> {}
}
