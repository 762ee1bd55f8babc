/**
 * EIO at write and at fdatasync, injected through the FileJournal's file-system dependency
 * (`fs` constructor option): device-mapper's error/flakey targets are not available on the
 * machines this runs on, so these faults cannot be had for real (docs/reliability.md). A
 * failed append must leave no trace in the file — no torn line, and no whole line whose
 * fdatasync failed — so that the retried decision gets the same seq, with no gap and no
 * duplicate; JournalHealth (/readyz) is failing until the next append succeeds.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileJournal, type JournalFileHandle, type JournalFileSystem } from '../../src/journal/file-journal.js';
import { JournalHealth } from '../../src/journal/health.js';
import type { DecisionRecord } from '../../src/core/record.js';
import { record as fixture, ROLLOUT } from '../helpers/records.js';

/** Records of varied length (the reason padded), so torn and cut lines fall at different offsets. */
function record(seq: number): DecisionRecord {
  return fixture(seq, { revision: '1', reason: `record ${seq} ${'x'.repeat(seq % 7 * 40)}` });
}

function eio(syscall: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`EIO: i/o error, ${syscall}`), { code: 'EIO', errno: -5, syscall });
}

type Fault = { at: 'write'; partialBytes: number } | { at: 'datasync' };

/** Node's fs, with the next write or fdatasync failing with EIO when armed (a write may land part of its bytes first). */
class FaultyFileSystem implements JournalFileSystem {
  armed: Fault | null = null;
  async open(path: string, flags: 'a'): Promise<JournalFileHandle> {
    const fh = await open(path, flags);
    const fs = this;
    return {
      stat: (...a: Parameters<typeof fh.stat>) => fh.stat(...a),
      truncate: (len?: number) => fh.truncate(len),
      close: () => fh.close(),
      async datasync() {
        if (fs.armed?.at === 'datasync') {
          fs.armed = null;
          throw eio('fdatasync');
        }
        return fh.datasync();
      },
      async write(buffer: Uint8Array, offset?: number | null, length?: number | null) {
        const f = fs.armed;
        if (f?.at === 'write') {
          fs.armed = null;
          const n = Math.min(f.partialBytes, length ?? buffer.length);
          if (n > 0) await fh.write(buffer, offset ?? 0, n);
          throw eio('write');
        }
        return fh.write(buffer, offset, length);
      },
    } as JournalFileHandle;
  }
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rollgate-journal-eio-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function seqsOnDisk(journal: FileJournal): Promise<number[]> {
  const raw = await readFile(journal.fileOf(ROLLOUT), 'utf8');
  expect(raw.endsWith('\n')).toBe(true);
  return raw.trimEnd().split('\n').map((l) => (JSON.parse(l) as DecisionRecord).seq);
}

describe('FileJournal under EIO', () => {
  it('EIO at fdatasync after a whole line: the append fails, the line is gone, and the retry gets the same seq', async () => {
    const fs = new FaultyFileSystem();
    const journal = new FileJournal(dir, { fs });
    const health = new JournalHealth(journal);
    await health.append(ROLLOUT, record(1));
    fs.armed = { at: 'datasync' };
    await expect(health.append(ROLLOUT, record(2))).rejects.toThrow(/^journal .*analyzer\.jsonl: append failed: EIO: i\/o error, fdatasync$/);
    expect(health.failing).toMatchObject({ rollout: ROLLOUT, error: expect.stringContaining('EIO') });
    expect(await seqsOnDisk(journal)).toEqual([1]);
    await health.append(ROLLOUT, record(2));
    expect(health.failing).toBeNull();
    expect(await seqsOnDisk(journal)).toEqual([1, 2]);
    await journal.close();
  });

  it('EIO at write after part of the line: no torn line is left, the retry gets the same seq', async () => {
    const fs = new FaultyFileSystem();
    const journal = new FileJournal(dir, { fs });
    await journal.append(ROLLOUT, record(1));
    fs.armed = { at: 'write', partialBytes: 25 };
    await expect(journal.append(ROLLOUT, record(2))).rejects.toThrow(/append failed: EIO: i\/o error, write$/);
    expect(await seqsOnDisk(journal)).toEqual([1]);
    await journal.append(ROLLOUT, record(2));
    expect(await seqsOnDisk(journal)).toEqual([1, 2]);
    await journal.close();
  });

  it('random EIO faults at write and fdatasync over 300 appends: every acknowledged seq once, in order, nothing else', async () => {
    const fs = new FaultyFileSystem();
    const journal = new FileJournal(dir, { fs });
    let seq = 1;
    let faults = 0;
    // A fixed pseudo-random sequence, so that a failure reproduces.
    let x = 12345;
    const rnd = () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let trial = 0; trial < 300; trial++) {
      const r = rnd();
      if (r < 0.25) fs.armed = { at: 'write', partialBytes: Math.floor(rnd() * 120) };
      else if (r < 0.5) fs.armed = { at: 'datasync' };
      try {
        await journal.append(ROLLOUT, record(seq));
        seq++;
      } catch (err) {
        faults++;
        expect((err as Error).message).toMatch(/append failed: EIO/);
      }
    }
    expect(faults).toBeGreaterThan(100);
    const acknowledged = Array.from({ length: seq - 1 }, (_, i) => i + 1);
    expect(await seqsOnDisk(journal)).toEqual(acknowledged);
    // A new process reads exactly the acknowledged records.
    await journal.close();
    expect((await new FileJournal(dir).read(ROLLOUT)).map((e) => (e as DecisionRecord).seq)).toEqual(acknowledged);
    console.log(JSON.stringify({ harness: 'journal-faults/eio', appends: 300, faults, acknowledged: seq - 1, violations: 0 }));
  });
});
