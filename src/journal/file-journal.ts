/**
 * FileJournal: the journal of the standalone controller. One append-only JSONL file per
 * rollout at `<stateDir>/journal/<namespace>/<name>.jsonl`; each append is one `write` of one
 * line followed by `fdatasync`, on a file descriptor kept open per rollout. Appends to one
 * rollout are serialized; the last seq is kept in memory after the first read, so an append
 * never re-reads the file.
 *
 * Only one process may write a state dir: hold acquireStateDirLock (statedir/lock.ts) first. Readers
 * in other processes (`rollgate history`) open it with `readOnly: true`, which never truncates.
 */
import { mkdir, open, readdir, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { silentLogger, type Logger } from '../support/log.js';
import { contractViolation, validateJournalEntry } from '../core/journal-contract.js';
import { fsyncDir, isErrno } from '../support/fsutil.js';
import { JournalContractError, parseRolloutId, type Journal } from '../core/journal.js';
import { isDecisionRecord, type JournalEntry } from '../core/record.js';
import { scanJournalFile, type ScanSummary } from './scan.js';

export { scanJournalFile, streamJournalFile, type ScanSummary, type ScanOptions, type TornTail } from './scan.js';

/** What the journal does with a file it appends to (a subset of node's FileHandle). */
export type JournalFileHandle = Pick<FileHandle, 'write' | 'datasync' | 'truncate' | 'stat' | 'close'>;

/**
 * How the journal opens the files it appends to: node's `fs.promises.open` by default. A
 * constructor dependency, so that a fault harness can give one whose writes or fdatasyncs fail
 * (EIO) where the machine cannot produce such faults for real.
 */
export interface JournalFileSystem {
  open(path: string, flags: 'a'): Promise<JournalFileHandle>;
}

const nodeFileSystem: JournalFileSystem = { open: (path, flags) => open(path, flags) };

export interface FileJournalOptions {
  log?: Logger;
  /** Never write or truncate (a reader beside a running controller). */
  readOnly?: boolean;
  /** Opens the files appended to. Default: node's fs. */
  fs?: JournalFileSystem;
}

interface OpenJournal {
  fh: JournalFileHandle;
  lastSeq: number;
  /** Bytes of whole lines: where a failed append is cut back to. */
  size: number;
}

export class FileJournal implements Journal {
  private readonly log: Logger;
  private readonly readOnly: boolean;
  private readonly fs: JournalFileSystem;
  private readonly files = new Map<string, OpenJournal>();
  /** Last seq of rollouts read but not yet opened for append. */
  private readonly knownLastSeq = new Map<string, number>();
  private readonly queues = new Map<string, Promise<void>>();
  private closed = false;

  constructor(
    readonly stateDir: string,
    opts: FileJournalOptions = {},
  ) {
    this.log = opts.log ?? silentLogger();
    this.readOnly = opts.readOnly ?? false;
    this.fs = opts.fs ?? nodeFileSystem;
  }

  /** The journal file of a rollout (`namespace/name`). */
  fileOf(rollout: string): string {
    const { namespace, name } = parseRolloutId(rollout);
    return join(this.stateDir, 'journal', namespace, `${name}.jsonl`);
  }

  async read(rollout: string): Promise<JournalEntry[]> {
    const entries: JournalEntry[] = [];
    await this.scan(rollout, (e) => entries.push(e));
    return entries;
  }

  /**
   * Streams a rollout's entries to `onEntry` without collecting them (large journals). A torn
   * last line is truncated away with a warning (unless read-only, where it is skipped).
   */
  async scan(rollout: string, onEntry: (entry: JournalEntry) => void): Promise<ScanSummary> {
    const file = this.fileOf(rollout);
    return this.enqueue(rollout, async () => {
      const summary = await scanJournalFile(file, onEntry, { rollout });
      await this.dropTornTail(summary);
      if (summary.exists && !this.files.has(rollout)) this.knownLastSeq.set(rollout, summary.lastSeq);
      return summary;
    });
  }

  async append(rollout: string, entry: JournalEntry): Promise<void> {
    // No await before enqueue: concurrent calls are queued in call order.
    const file = this.fileOf(rollout);
    if (this.closed) throw new Error(`journal ${this.stateDir} is closed; cannot append to ${rollout}`);
    if (this.readOnly) throw new Error(`journal ${this.stateDir} is read-only; cannot append to ${rollout}`);
    return this.enqueue(rollout, async () => {
      const valid = validateJournalEntry(entry);
      if (!valid.ok) throw new JournalContractError(rollout, valid.error);
      const j = await this.openForAppend(rollout, file);
      const problem = contractViolation(entry, j.lastSeq, rollout);
      if (problem) throw new JournalContractError(rollout, `${problem}; refusing to write`);
      const line = Buffer.from(`${JSON.stringify(entry)}\n`, 'utf8');
      try {
        let off = 0;
        while (off < line.length) off += (await j.fh.write(line, off, line.length - off)).bytesWritten;
        await j.fh.datasync();
      } catch (err) {
        // The append failed, so the entry must not be there: a line written whole whose
        // fdatasync failed would otherwise be read back later as if it had been acknowledged.
        // Cut the file back to its last whole line; if even that fails, forget the file and
        // let the next access re-read it (a torn tail is truncated then).
        await this.cutBack(j, err).catch(() => undefined);
        await this.forget(rollout);
        throw new Error(`journal ${file}: append failed: ${(err as Error).message}`, { cause: err });
      }
      j.size += line.length;
      if (isDecisionRecord(entry)) j.lastSeq = entry.seq;
    });
  }

  async rollouts(): Promise<string[]> {
    const root = join(this.stateDir, 'journal');
    const out: string[] = [];
    let namespaces;
    try {
      namespaces = await readdir(root, { withFileTypes: true });
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return [];
      throw err;
    }
    for (const ns of namespaces) {
      if (!ns.isDirectory()) continue;
      for (const f of await readdir(join(root, ns.name), { withFileTypes: true })) {
        if (f.isFile() && f.name.endsWith('.jsonl')) out.push(`${ns.name}/${f.name.slice(0, -'.jsonl'.length)}`);
      }
    }
    return out.sort();
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.queues.values()]);
    await Promise.all([...this.files.keys()].map((r) => this.forget(r)));
  }

  private async openForAppend(rollout: string, file: string): Promise<OpenJournal> {
    const cached = this.files.get(rollout);
    if (cached) return cached;
    let lastSeq = this.knownLastSeq.get(rollout);
    if (lastSeq === undefined) {
      const summary = await scanJournalFile(file, () => undefined, { rollout });
      await this.dropTornTail(summary);
      lastSeq = summary.exists ? summary.lastSeq : undefined;
    }
    let fh: JournalFileHandle;
    if (lastSeq === undefined) {
      fh = await this.create(file);
      lastSeq = 0;
    } else {
      fh = await this.fs.open(file, 'a');
    }
    let size: number;
    try {
      size = (await fh.stat()).size;
    } catch (err) {
      await fh.close().catch(() => undefined);
      throw err;
    }
    const j = { fh, lastSeq, size };
    this.files.set(rollout, j);
    this.knownLastSeq.delete(rollout);
    return j;
  }

  /** Creates a journal file and makes its directory entries durable. */
  private async create(file: string): Promise<JournalFileHandle> {
    const dir = join(file, '..');
    const madeFrom = await mkdir(dir, { recursive: true });
    const fh = await this.fs.open(file, 'a');
    await fsyncDir(dir);
    if (madeFrom !== undefined) {
      await fsyncDir(join(dir, '..'));
      await fsyncDir(this.stateDir);
    }
    this.log.debug({ file }, 'journal created');
    return fh;
  }

  private async dropTornTail(summary: ScanSummary): Promise<void> {
    const torn = summary.torn;
    if (!torn) return;
    const where = `${summary.file}:${torn.line}`;
    if (this.readOnly) {
      this.log.warn({ file: summary.file, line: torn.line, bytes: torn.bytes }, `journal ${where}: ignoring a torn last line (${torn.reason})`);
      return;
    }
    const fh = await open(summary.file, 'r+');
    try {
      await fh.truncate(torn.offset);
      await fh.datasync();
    } finally {
      await fh.close();
    }
    this.log.warn(
      { file: summary.file, line: torn.line, bytes: torn.bytes, reason: torn.reason },
      `journal ${where}: truncated a torn last line of ${torn.bytes} bytes (${torn.reason}); it was never acknowledged`,
    );
  }

  /** Truncates a journal back to its last acknowledged line after a failed append, durably. */
  private async cutBack(j: OpenJournal, cause: unknown): Promise<void> {
    await j.fh.truncate(j.size);
    await j.fh.datasync();
    this.log.warn({ size: j.size, err: (cause as Error).message }, 'journal append failed; the file was cut back to its last acknowledged line');
  }

  private async forget(rollout: string): Promise<void> {
    const j = this.files.get(rollout);
    this.files.delete(rollout);
    this.knownLastSeq.delete(rollout);
    await j?.fh.close().catch(() => undefined);
  }

  /** Runs `op` after every earlier operation on the same rollout, even if they failed. */
  private enqueue<T>(rollout: string, op: () => Promise<T>): Promise<T> {
    const prev = this.queues.get(rollout) ?? Promise.resolve();
    const result = prev.then(op);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.queues.set(rollout, tail);
    void tail.then(() => {
      if (this.queues.get(rollout) === tail) this.queues.delete(rollout);
    });
    return result;
  }
}
