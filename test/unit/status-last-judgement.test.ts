/**
 * The last judgement `status` shows (src/cli/journal-reader.ts lastJudgement): the latest
 * record with metrics, found reading the journal backwards in steps, never more than 1 MiB of
 * it; snapshot lines (which embed a record) are not records.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileJournal } from '../../src/journal/file-journal.js';
import { lastJudgement, LAST_JUDGEMENT_SCAN_BYTES } from '../../src/cli/journal-reader.js';
import { record, ROLLOUT } from '../helpers/records.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function journalWith(lines: string[]): FileJournal {
  const dir = mkdtempSync(join(tmpdir(), 'rollgate-last-judgement-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'journal', 'learning'), { recursive: true });
  writeFileSync(join(dir, 'journal', 'learning', 'analyzer.jsonl'), lines.map((l) => `${l}\n`).join(''));
  return new FileJournal(dir, { readOnly: true });
}

const judged = (seq: number) => JSON.stringify(record(seq, { metrics: [{ name: 'error-rate', query: 'q', value: 0.001, max: 0.01, verdict: 'pass', critical: true }] }));
/** A record without metrics, about 1 KiB long. */
const plain = (seq: number) => JSON.stringify(record(seq, { kind: 'lifecycle', decision: 'hold', reason: `router busy ${'x'.repeat(900)}` }));

describe('lastJudgement', () => {
  it('finds the latest record with metrics across several 64 KiB steps', async () => {
    const lines = [judged(2), judged(3)];
    for (let i = 0; i < 300; i++) lines.push(plain(4 + i)); // ~300 KiB after it
    const r = await lastJudgement(journalWith(lines), ROLLOUT);
    expect(r?.seq).toBe(3);
  });

  it('skips snapshot lines, which embed a record with metrics', async () => {
    const snapshot = JSON.stringify({ snapshot: 5, rollout: ROLLOUT, at: 'x', state: { last: JSON.parse(judged(5)) } });
    const r = await lastJudgement(journalWith([judged(2), snapshot, plain(6)]), ROLLOUT);
    expect(r?.seq).toBe(2);
  });

  it('looks no further back than 1 MiB: null when the judgement is older', async () => {
    const lines = [judged(2)];
    const count = Math.ceil(LAST_JUDGEMENT_SCAN_BYTES / 1000) + 10;
    for (let i = 0; i < count; i++) lines.push(plain(3 + i));
    expect(await lastJudgement(journalWith(lines), ROLLOUT)).toBeNull();
  });

  it('null for a rollout without a journal', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rollgate-last-judgement-'));
    dirs.push(dir);
    expect(await lastJudgement(new FileJournal(dir, { readOnly: true }), ROLLOUT)).toBeNull();
  });
});
