/**
 * MemoryJournal (simulate, engine tests) and FileJournal (rollgate run) refuse the same
 * contract violations with the same message: both ask core/journal-contract.ts.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileJournal } from '../../src/journal/file-journal.js';
import { MemoryJournal } from '../../src/journal/memory-journal.js';
import { JournalContractError, type Journal } from '../../src/core/journal.js';
import type { AppliedMark, JournalEntry } from '../../src/core/record.js';
import { record, ROLLOUT } from '../helpers/records.js';

function mark(applied: number): AppliedMark {
  return { applied, rollout: ROLLOUT, weight: 10, mirror: 0, at: '2025-11-01T14:00:01Z' };
}

/** Each case: entries appended first (accepted), then the refused one and the message. */
const cases: Array<[string, JournalEntry[], JournalEntry, string]> = [
  ['first record not seq 1', [], record(2), 'journal learning/analyzer: gap: seq 2 after seq 0 (expected 1); refusing to write'],
  ['a gap', [record(1), record(2)], record(4), 'journal learning/analyzer: gap: seq 4 after seq 2 (expected 3); refusing to write'],
  ['a duplicate', [record(1), record(2)], record(2), 'journal learning/analyzer: duplicate or out-of-order seq 2 after seq 2 (expected 3); refusing to write'],
  ['an older seq', [record(1), record(2)], record(1), 'journal learning/analyzer: duplicate or out-of-order seq 1 after seq 2 (expected 3); refusing to write'],
  ['a mark in an empty journal', [], mark(1), 'journal learning/analyzer: applied mark for seq 1, but the last seq is none (empty journal); refusing to write'],
  ['a mark past the last seq', [record(1)], mark(2), 'journal learning/analyzer: applied mark for seq 2, but the last seq is 1; refusing to write'],
  ['an entry of another rollout', [], record(1, { rollout: 'x/y' }), 'journal learning/analyzer: entry of rollout "x/y" in the journal of "learning/analyzer"; refusing to write'],
];

let dir: string;
const journals: Record<string, () => Journal> = {
  MemoryJournal: () => new MemoryJournal(),
  FileJournal: () => new FileJournal(dir),
};
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rollgate-journal-contract-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe.each(Object.keys(journals))('%s: the journal contract', (name) => {
  it.each(cases)('refuses %s with the contract message and keeps what it had', async (_what, before, refused, message) => {
    const journal = journals[name]!();
    try {
      for (const e of before) await journal.append(ROLLOUT, e);
      const err = await journal.append(ROLLOUT, refused).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(JournalContractError);
      expect((err as Error).message).toBe(message);
      expect(await journal.read(ROLLOUT)).toEqual(before);
    } finally {
      await journal.close();
    }
  });

  it('accepts records in order and marks of written seqs', async () => {
    const journal = journals[name]!();
    try {
      const entries = [record(1), mark(1), record(2), record(3), mark(3), mark(2)];
      for (const e of entries) await journal.append(ROLLOUT, e);
      expect(await journal.read(ROLLOUT)).toEqual(entries);
    } finally {
      await journal.close();
    }
  });
});
