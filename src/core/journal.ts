/**
 * The journal the engine writes its decisions to (principle 1: the journal is the truth). One
 * interface, three stores: FileJournal (JSONL + fdatasync, `rollgate run`), MemoryJournal
 * (`simulate`) and ConfigMapJournal (a ConfigMap per rollout, `rollgate controller`).
 */
import type { JournalEntry } from './record.js';
import type { RolloutState } from './state.js';

export interface Journal {
  /**
   * Every entry of a rollout (`namespace/name`), in order (state snapshots left out); [] for
   * an unknown rollout. Only for readers that need every entry at once: `rollgate history -n`
   * (the entries a ConfigMap keeps) and tests. A start and `status` use `replay`, and the
   * file journal's history streams (`FileJournal.scan`).
   */
  read(rollout: string): Promise<JournalEntry[]>;
  /**
   * The rollout's state: `replay(entries)` (core/state.ts), computed from the journal's last
   * usable state snapshot (core/snapshot.ts) and the entries after it, streamed, never an
   * array of every entry. The initial state for an unknown rollout.
   */
  replay(rollout: string): Promise<RolloutState>;
  /**
   * Appends one entry; durable when the promise resolves. A DecisionRecord's seq must be the
   * last seq + 1 (1 for the first) and an AppliedMark must name an existing seq: anything else
   * is a bug and throws JournalContractError without writing.
   */
  append(rollout: string, entry: JournalEntry): Promise<void>;
  /** The rollouts that have a journal, as `namespace/name`, sorted. */
  rollouts(): Promise<string[]>;
  /** Waits for pending appends and releases files; later appends throw. */
  close(): Promise<void>;
}

/** An append that breaks the journal contract (gap, duplicate, unknown seq): a bug, never written. */
export class JournalContractError extends Error {
  constructor(
    readonly rollout: string,
    message: string,
  ) {
    super(`journal ${rollout}: ${message}`);
    this.name = 'JournalContractError';
  }
}

/** A journal file that cannot be read as written (corrupt line, broken sequence). */
export class JournalCorruptError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly detail: string,
  ) {
    super(`${file}:${line}: corrupt journal line: ${detail}`);
    this.name = 'JournalCorruptError';
  }
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Splits `namespace/name`, both DNS-1123 labels (which also keeps journal paths inside the state dir). */
export function parseRolloutId(rollout: string): { namespace: string; name: string } {
  const parts = rollout.split('/');
  const [namespace, name] = parts;
  if (
    parts.length !== 2 ||
    namespace === undefined ||
    name === undefined ||
    namespace.length > 63 ||
    name.length > 63 ||
    !DNS1123_LABEL.test(namespace) ||
    !DNS1123_LABEL.test(name)
  ) {
    throw new Error(`invalid rollout id "${rollout}": expected namespace/name, both DNS-1123 labels`);
  }
  return { namespace, name };
}
