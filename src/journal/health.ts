/**
 * JournalHealth: a Journal that remembers whether it can be written. An append that fails (a
 * full disk, an I/O error, a read-only file system) makes it unhealthy with the error and
 * since when; the next append that succeeds makes it healthy again. `rollgate run`'s
 * `/readyz` answers 503 with that reason meanwhile: a controller that cannot journal cannot
 * decide anything, since a decision is durable before it acts.
 */
import type { Journal } from '../core/journal.js';
import type { JournalEntry } from '../core/record.js';
import type { RolloutState } from '../core/state.js';

export interface JournalFailure {
  rollout: string;
  /** The append's error message (names the journal file). */
  error: string;
  /** When appends started failing (ISO). */
  since: string;
}

export class JournalHealth implements Journal {
  private failure: JournalFailure | null = null;

  constructor(
    private readonly inner: Journal,
    private readonly now: () => number = Date.now,
  ) {}

  /** The current failure, or null while appends succeed. */
  get failing(): JournalFailure | null {
    return this.failure;
  }

  read(rollout: string): Promise<JournalEntry[]> {
    return this.inner.read(rollout);
  }

  replay(rollout: string): Promise<RolloutState> {
    return this.inner.replay(rollout);
  }

  async append(rollout: string, entry: JournalEntry): Promise<void> {
    try {
      await this.inner.append(rollout, entry);
    } catch (err) {
      this.failure = { rollout, error: (err as Error).message, since: this.failure?.since ?? new Date(this.now()).toISOString() };
      throw err;
    }
    this.failure = null;
  }

  rollouts(): Promise<string[]> {
    return this.inner.rollouts();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
