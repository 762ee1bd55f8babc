import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendFile, mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { FileJournal, scanJournalFile, streamJournalFile } from '../../src/journal/file-journal.js';
import { JournalContractError, JournalCorruptError, parseRolloutId } from '../../src/core/journal.js';
import type { AppliedMark, DecisionRecord } from '../../src/core/record.js';
import { record, ROLLOUT } from '../helpers/records.js';

function mark(applied: number): AppliedMark {
  return { applied, rollout: ROLLOUT, weight: 10, mirror: 0, at: '2025-11-01T14:00:01Z' };
}

/** A logger that keeps what it writes. */
function capturingLogger() {
  const lines: Array<{ level: number; msg: string }> = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => lines.push(JSON.parse(s)) });
  return { log, lines };
}

let dir: string;
let journal: FileJournal;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rollgate-journal-'));
  journal = new FileJournal(dir);
});
afterEach(async () => {
  await journal.close();
  await rm(dir, { recursive: true, force: true });
});

describe('FileJournal', () => {
  it('writes one JSON line per entry at <stateDir>/journal/<namespace>/<name>.jsonl and reads them back', async () => {
    await journal.append(ROLLOUT, record(1));
    await journal.append(ROLLOUT, mark(1));
    await journal.append(ROLLOUT, record(2));
    const file = join(dir, 'journal', 'learning', 'analyzer.jsonl');
    expect(journal.fileOf(ROLLOUT)).toBe(file);
    const lines = (await readFile(file, 'utf8')).split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[3]).toBe('');
    expect(JSON.parse(lines[1]!)).toEqual(mark(1));
    expect(await journal.read(ROLLOUT)).toEqual([record(1), mark(1), record(2)]);
    expect(await new FileJournal(dir).read(ROLLOUT)).toEqual([record(1), mark(1), record(2)]);
  });

  it('reads an unknown rollout as empty without creating anything', async () => {
    expect(await journal.read('default/nothing')).toEqual([]);
    expect(await journal.rollouts()).toEqual([]);
  });

  it('lists rollouts as namespace/name', async () => {
    await journal.append('b/two', record(1, { rollout: 'b/two' }));
    await journal.append('a/one', record(1, { rollout: 'a/one' }));
    expect(await journal.rollouts()).toEqual(['a/one', 'b/two']);
  });

  it('rejects rollout ids that are not namespace/name labels', async () => {
    expect(() => parseRolloutId('../../etc/passwd')).toThrow(/invalid rollout id/);
    await expect(journal.append('analyzer', record(1))).rejects.toThrow(/expected namespace\/name/);
  });

  describe('gapless seq', () => {
    it('the first record must have seq 1', async () => {
      await expect(journal.append(ROLLOUT, record(2))).rejects.toThrow(JournalContractError);
      await expect(journal.append(ROLLOUT, record(2))).rejects.toThrow(/gap: seq 2 after seq 0 \(expected 1\)/);
    });

    it('refuses a gap and a duplicate, and writes neither', async () => {
      await journal.append(ROLLOUT, record(1));
      await journal.append(ROLLOUT, record(2));
      await expect(journal.append(ROLLOUT, record(4))).rejects.toThrow(/gap: seq 4 after seq 2/);
      await expect(journal.append(ROLLOUT, record(2))).rejects.toThrow(/duplicate or out-of-order seq 2/);
      await journal.append(ROLLOUT, record(3));
      expect((await journal.read(ROLLOUT)).map((e) => ('seq' in e ? e.seq : -1))).toEqual([1, 2, 3]);
    });

    it('continues from the last seq on disk after a restart', async () => {
      await journal.append(ROLLOUT, record(1));
      await journal.append(ROLLOUT, record(2));
      await journal.close();
      journal = new FileJournal(dir);
      await expect(journal.append(ROLLOUT, record(2))).rejects.toThrow(/expected 3/);
      await journal.append(ROLLOUT, record(3));
    });

    it('an applied mark must reference an existing seq', async () => {
      await expect(journal.append(ROLLOUT, mark(1))).rejects.toThrow(/applied mark for seq 1, but the last seq is none/);
      await journal.append(ROLLOUT, record(1));
      await expect(journal.append(ROLLOUT, mark(2))).rejects.toThrow(/applied mark for seq 2, but the last seq is 1/);
      await journal.append(ROLLOUT, mark(1));
    });

    it('refuses an entry of another rollout and one the schema rejects (NaN would be written as null)', async () => {
      await expect(journal.append(ROLLOUT, record(1, { rollout: 'x/y' }))).rejects.toThrow(/entry of rollout "x\/y"/);
      await expect(journal.append(ROLLOUT, record(1, { score: Number.NaN }))).rejects.toThrow(/invalid decision record: score/);
      expect(await journal.read(ROLLOUT)).toEqual([]);
    });
  });

  it('serializes concurrent appends to one rollout in call order', async () => {
    await Promise.all(Array.from({ length: 200 }, (_, i) => journal.append(ROLLOUT, record(i + 1))));
    const seqs = (await journal.read(ROLLOUT)).map((e) => ('seq' in e ? e.seq : -1));
    expect(seqs).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
  });

  it('a failed append does not block the appends queued after it', async () => {
    const results = await Promise.allSettled([
      journal.append(ROLLOUT, record(1)),
      journal.append(ROLLOUT, record(5)),
      journal.append(ROLLOUT, record(2)),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });

  describe('crash recovery', () => {
    it('truncates a torn last line (no trailing newline) with a warning, then appends after it', async () => {
      await journal.append(ROLLOUT, record(1));
      await journal.append(ROLLOUT, record(2));
      await journal.close();
      const file = join(dir, 'journal', 'learning', 'analyzer.jsonl');
      const good = await readFile(file, 'utf8');
      await appendFile(file, JSON.stringify(record(3)).slice(0, 40));
      const { log, lines } = capturingLogger();
      journal = new FileJournal(dir, { log });
      expect(await journal.read(ROLLOUT)).toEqual([record(1), record(2)]);
      expect(await readFile(file, 'utf8')).toBe(good);
      const warning = lines.find((l) => l.level === 40);
      expect(warning?.msg).toMatch(/analyzer\.jsonl:3: truncated a torn last line of 40 bytes \(no trailing newline\)/);
      await journal.append(ROLLOUT, record(3));
      expect(await journal.read(ROLLOUT)).toHaveLength(3);
    });

    it('truncates an unparsable newline-terminated last line (e.g. zeros after a power loss)', async () => {
      await journal.append(ROLLOUT, record(1));
      await journal.close();
      const file = journal.fileOf(ROLLOUT);
      await appendFile(file, '\0\0\0\0\n');
      journal = new FileJournal(dir);
      await journal.append(ROLLOUT, record(2)); // the first append reads the file and repairs it
      expect(await journal.read(ROLLOUT)).toEqual([record(1), record(2)]);
    });

    it('a read-only journal skips a torn tail but never truncates', async () => {
      await journal.append(ROLLOUT, record(1));
      const file = journal.fileOf(ROLLOUT);
      await appendFile(file, '{"seq":2,');
      const reader = new FileJournal(dir, { readOnly: true });
      expect(await reader.read(ROLLOUT)).toEqual([record(1)]);
      expect(await readFile(file, 'utf8')).toMatch(/\{"seq":2,$/);
      await expect(reader.append(ROLLOUT, record(2))).rejects.toThrow(/read-only/);
    });

    it('reports a corrupt line in the middle as file:line and does not touch the file', async () => {
      const file = join(dir, 'journal', 'learning', 'analyzer.jsonl');
      await mkdir(join(dir, 'journal', 'learning'), { recursive: true });
      const content = [JSON.stringify(record(1)), '{"seq": oops', JSON.stringify(record(2)), ''].join('\n');
      await writeFile(file, content);
      const err = await journal.read(ROLLOUT).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(JournalCorruptError);
      expect((err as JournalCorruptError).message).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2: corrupt journal line: not JSON`));
      expect((err as JournalCorruptError).line).toBe(2);
      expect(await readFile(file, 'utf8')).toBe(content);
      await expect(journal.append(ROLLOUT, record(2))).rejects.toThrow(/analyzer\.jsonl:2/);
    });

    it('reports a schema-invalid middle line and a gap on disk with their line numbers', async () => {
      const file = journal.fileOf(ROLLOUT);
      await mkdir(join(file, '..'), { recursive: true });
      await writeFile(file, [JSON.stringify(record(1)), JSON.stringify({ ...record(2), decision: 'jump' }), JSON.stringify(record(3)), ''].join('\n'));
      await expect(journal.read(ROLLOUT)).rejects.toThrow(/analyzer\.jsonl:2: corrupt journal line: invalid decision record: decision/);
      await writeFile(file, [JSON.stringify(record(1)), JSON.stringify(record(3)), ''].join('\n'));
      await expect(journal.read(ROLLOUT)).rejects.toThrow(/analyzer\.jsonl:2: corrupt journal line: gap: seq 3 after seq 1/);
    });
  });

  describe('streaming reader', () => {
    it('streams entries across chunk boundaries and returns a summary', async () => {
      for (let i = 1; i <= 50; i++) await journal.append(ROLLOUT, record(i));
      await journal.append(ROLLOUT, mark(50));
      const seen: number[] = [];
      const summary = await scanJournalFile(journal.fileOf(ROLLOUT), (e) => seen.push('seq' in e ? e.seq : 0), { chunkSize: 97, rollout: ROLLOUT });
      expect(seen).toEqual([...Array.from({ length: 50 }, (_, i) => i + 1), 0]);
      expect(summary).toMatchObject({ exists: true, entries: 51, lastSeq: 50 });
      expect(summary.torn).toBeUndefined();
      let n = 0;
      for await (const _ of streamJournalFile(journal.fileOf(ROLLOUT), { chunkSize: 4096 })) n++;
      expect(n).toBe(51);
    });

    it('reports a torn tail in the summary without truncating', async () => {
      await journal.append(ROLLOUT, record(1));
      const file = journal.fileOf(ROLLOUT);
      const good = (await readFile(file)).length;
      await appendFile(file, '{"se');
      const summary = await scanJournalFile(file, () => undefined);
      expect(summary).toMatchObject({ entries: 1, validBytes: good, torn: { line: 2, offset: good, bytes: 4 } });
    });
  });

  it('close waits for pending appends and refuses later ones', async () => {
    const pending = journal.append(ROLLOUT, record(1));
    await journal.close();
    await pending;
    await expect(journal.append(ROLLOUT, record(2))).rejects.toThrow(/closed/);
    expect(await new FileJournal(dir).read(ROLLOUT)).toEqual([record(1)]);
  });
});

describe('forward compatibility', () => {
  it('keeps fields a newer rollgate added when reading', async () => {
    const dir2 = await mkdtemp(join(tmpdir(), 'rollgate-journal-'));
    const j = new FileJournal(dir2);
    const withExtra = { ...record(1), futureField: { x: 1 } } as DecisionRecord;
    await j.append(ROLLOUT, withExtra);
    expect(await j.read(ROLLOUT)).toEqual([withExtra]);
    await j.close();
    await rm(dir2, { recursive: true, force: true });
  });
});
