/**
 * FileJournal's bounded file descriptors: append fds are opened on demand and kept in an LRU of
 * `maxOpenFiles` (files being read count too), so thousands of rollouts never hold thousands
 * of fds; a rollout whose fd was closed appends again where it stopped.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readdirSync, readlinkSync } from 'node:fs';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileJournal, type JournalFileHandle, type JournalFileSystem } from '../../src/journal/file-journal.js';
import { JournalContractError } from '../../src/core/journal.js';
import type { DecisionRecord } from '../../src/core/record.js';
import { record as fixture } from '../helpers/records.js';

const rolloutOf = (i: number) => `team-${i % 20}/svc-${i}`;
const record = (rollout: string, seq: number): DecisionRecord => fixture(seq, { rollout });

/**
 * The fds of this process open on a file under `dir` (from /proc/self/fd). Synchronous: while it
 * runs, no fd can change hands between the journal's operations, so a number listed first and
 * reused before it is read cannot be counted for two files.
 */
function fdsUnder(dir: string): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    let target = '';
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      /* closed meanwhile */
    }
    if (target.startsWith(dir)) n++;
  }
  return n;
}

/** Node's fs, counting the fds under the state dir each time the journal opens one (their peak). */
class CountingFileSystem implements JournalFileSystem {
  peak = 0;
  opens = 0;
  constructor(private readonly dir: string) {}
  async open(path: string, flags: 'a'): Promise<JournalFileHandle> {
    const fh = await open(path, flags);
    this.opens++;
    this.peak = Math.max(this.peak, fdsUnder(this.dir));
    return fh;
  }
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rollgate-journal-lru-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function seqsOnDisk(journal: FileJournal, rollout: string): Promise<number[]> {
  const raw = await readFile(journal.fileOf(rollout), 'utf8');
  expect(raw.endsWith('\n')).toBe(true);
  return raw
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as DecisionRecord)
    .filter((e) => 'seq' in e)
    .map((e) => e.seq);
}

describe('FileJournal file descriptors', () => {
  it('2,000 rollouts appending at once: never more fds than maxOpenFiles, every entry written once', async () => {
    const fs = new CountingFileSystem(dir);
    const cap = 32;
    const journal = new FileJournal(dir, { fs, maxOpenFiles: cap });
    const ids = Array.from({ length: 2000 }, (_, i) => rolloutOf(i));
    // Two rounds: the second appends to rollouts whose fds were closed in between.
    for (const seq of [1, 2]) await Promise.all(ids.map((id) => journal.append(id, record(id, seq))));
    expect(fs.opens).toBeGreaterThan(2000); // fds were closed and opened again
    expect(fs.peak).toBeGreaterThan(0);
    expect(fs.peak).toBeLessThanOrEqual(cap);
    expect(fdsUnder(dir)).toBeLessThanOrEqual(cap);
    for (const id of [ids[0]!, ids[999]!, ids[1999]!]) expect(await seqsOnDisk(journal, id)).toEqual([1, 2]);
    await journal.close();
    expect(fdsUnder(dir)).toBe(0);
  }, 120_000);

  it('a rollout whose fd was closed appends where it stopped; its last seq is still known', async () => {
    const fs = new CountingFileSystem(dir);
    const journal = new FileJournal(dir, { fs, maxOpenFiles: 2 });
    const [a, b, c] = ['apps/a', 'apps/b', 'apps/c'];
    await journal.append(a, record(a, 1));
    await journal.append(b, record(b, 1));
    await journal.append(c, record(c, 1)); // closes a's fd, the least recently used
    expect(fs.opens).toBe(3);
    await expect(journal.append(a, record(a, 1))).rejects.toThrow(JournalContractError); // a duplicate, known without an fd
    await journal.append(a, record(a, 2));
    expect(fs.opens).toBe(4);
    expect(await seqsOnDisk(journal, a)).toEqual([1, 2]);
    await journal.close();
    // A fresh journal reads the same.
    const again = new FileJournal(dir);
    expect((await again.replay(a)).seq).toBe(2);
    await again.close();
  });

  it('a torn tail left by a failed append whose cut-back failed, then the fd closed by the LRU: the next append drops it and goes on', async () => {
    let fail = false;
    const fs: JournalFileSystem = {
      async open(path, flags) {
        const fh = await open(path, flags);
        return {
          stat: (...a: Parameters<typeof fh.stat>) => fh.stat(...a),
          datasync: () => fh.datasync(),
          close: () => fh.close(),
          async truncate(len?: number) {
            if (fail) throw Object.assign(new Error('EIO: i/o error, ftruncate'), { code: 'EIO' });
            return fh.truncate(len);
          },
          async write(buffer: Uint8Array, offset?: number | null, length?: number | null) {
            if (fail) {
              await fh.write(buffer, offset ?? 0, 20); // part of the line lands
              throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
            }
            return fh.write(buffer, offset, length);
          },
        } as JournalFileHandle;
      },
    };
    const journal = new FileJournal(dir, { fs, maxOpenFiles: 1 });
    const [a, b] = ['apps/a', 'apps/b'];
    await journal.append(a, record(a, 1));
    fail = true;
    await expect(journal.append(a, record(a, 2))).rejects.toThrow(/append failed: EIO/);
    fail = false;
    expect((await readFile(journal.fileOf(a), 'utf8')).endsWith('\n')).toBe(false); // torn
    await journal.append(b, record(b, 1)); // a's fd is closed for b's
    await journal.append(a, record(a, 2));
    expect(await seqsOnDisk(journal, a)).toEqual([1, 2]);
    await journal.close();
  });
});
