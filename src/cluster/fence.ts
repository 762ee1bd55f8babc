/**
 * Fencing: the journal and the router of a rollout refuse to write once this replica no longer
 * holds the Lease the rollout falls under (the Lease `rollgate-controller`, or its shard's
 * Lease); `isLeader()` turns false by itself when the Lease could not be renewed in time. A
 * step already under way when the Lease is lost therefore cannot journal a decision or move
 * traffic: the next write throws NotLeaderError. Reads stay allowed.
 */
import type { Journal } from '../core/journal.js';
import type { JournalEntry } from '../core/record.js';
import type { Split, TrafficRouter } from '../core/router.js';

export class NotLeaderError extends Error {
  constructor(what: string) {
    super(`${what}: refused, this replica is not the leader`);
    this.name = 'NotLeaderError';
  }
}

export function fenceJournal(inner: Journal, isLeader: () => boolean): Journal {
  return {
    read: (rollout) => inner.read(rollout),
    replay: (rollout) => inner.replay(rollout),
    append: async (rollout: string, entry: JournalEntry) => {
      if (!isLeader()) throw new NotLeaderError(`journal append to ${rollout}`);
      await inner.append(rollout, entry);
    },
    rollouts: () => inner.rollouts(),
    close: () => inner.close(),
  };
}

export function fenceRouter(inner: TrafficRouter, isLeader: () => boolean): TrafficRouter {
  return {
    name: inner.name,
    target: inner.target,
    apply: async (split: Split) => {
      if (!isLeader()) throw new NotLeaderError(`router ${inner.name} (${inner.target}) apply`);
      return inner.apply(split);
    },
    read: () => inner.read(),
  };
}
