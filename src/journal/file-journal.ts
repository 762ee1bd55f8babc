/**
 * FileJournal: the journal of the standalone controller. One append-only JSONL file per
 * rollout at `<stateDir>/journal/<namespace>/<name>.jsonl`; each append is one `write` of one
 * line followed by `fdatasync`. Appends to one rollout are serialized; what an append needs
 * (last seq, size, the replayed state) is kept in memory once the rollout was replayed, so an
 * append never re-reads the file.
 *
 * File descriptors are bounded (10,000 rollouts must not mean 10,000 fds): append fds are
 * opened on demand and kept in an LRU of at most `maxOpenFiles`, which also counts the files
 * being read; the least recently used idle fd is closed when another is needed, never one with
 * an operation under way, and an operation waits for a slot when all are busy.
 *
 * State snapshots (core/snapshot.ts) are written after an entry every `snapshotEvery` entries
 * and at each phase end (an `advance`, a `complete`, a record that ends the rollout), without
 * fdatasync of their own (a snapshot is a cache: one lost in a crash is a torn tail, dropped
 * like any). `replay` finds the last snapshot reading the file backwards from its end and
 * replays only what follows; a snapshot that does not fit is ignored with a warning and replay
 * starts from the one before it, or from the beginning.
 *
 * Only one process may write a state dir: hold acquireStateDirLock (statedir/lock.ts) first. Readers
 * in other processes (`rollgate history`) open it with `readOnly: true`, which never truncates.
 */
import { mkdir, open, readdir, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { silentLogger, type Logger } from '../support/log.js';
import { contractViolation, snapshotFollows, validateJournalEntry } from '../core/journal-contract.js';
import { fsyncDir, isErrno } from '../support/fsutil.js';
import { JournalContractError, JournalCorruptError, parseRolloutId, type Journal } from '../core/journal.js';
import { isDecisionRecord, type JournalEntry } from '../core/record.js';
import { applyEntry, initialState, isTerminal, replay, type RolloutState } from '../core/state.js';
import { checkSnapshot, snapshotLine, type StateSnapshot } from '../core/snapshot.js';
import { scanJournalFile, snapshotsFromEnd, type ScanSummary, type SnapshotLineAt } from './scan.js';

export { scanJournalFile, streamJournalFile, snapshotsFromEnd, type ScanSummary, type ScanOptions, type TornTail } from './scan.js';

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
  /** File descriptors open at most: append fds kept (LRU) plus files being read. Default 256. */
  maxOpenFiles?: number;
  /** A state snapshot after this many entries since the last one (and at each phase end). Default 1,000. */
  snapshotEvery?: number;
  /** The clock of a snapshot's `at`. */
  now?: () => number;
}

/** What the journal knows of a rollout's file; kept when its fd is closed. */
interface Tracked {
  lastSeq: number;
  /** Bytes of whole lines: where a failed append is cut back to. */
  size: number;
  /** The state replayed through the last line. */
  state: RolloutState;
  /** Entries since the last snapshot (or the beginning). */
  sinceSnapshot: number;
}

/** A start tries the last snapshots from the end, at most this many, before the whole file. */
const SNAPSHOTS_TRIED = 3;

export class FileJournal implements Journal {
  private readonly log: Logger;
  private readonly readOnly: boolean;
  private readonly fs: JournalFileSystem;
  private readonly maxOpen: number;
  private readonly snapshotEvery: number;
  private readonly now: () => number;
  private readonly tracked = new Map<string, Tracked>();
  /** Open append fds, least recently used first. */
  private readonly handles = new Map<string, JournalFileHandle>();
  /** Rollouts with an operation under way: their fd is never closed by the LRU. */
  private readonly busy = new Set<string>();
  /** File descriptors taken (open, being opened or being closed), at most maxOpen. */
  private slots = 0;
  private readonly slotWaiters: Array<() => void> = [];
  private readonly queues = new Map<string, Promise<void>>();
  private closed = false;

  constructor(
    readonly stateDir: string,
    opts: FileJournalOptions = {},
  ) {
    this.log = opts.log ?? silentLogger();
    this.readOnly = opts.readOnly ?? false;
    this.fs = opts.fs ?? nodeFileSystem;
    this.maxOpen = Math.max(1, opts.maxOpenFiles ?? 256);
    this.snapshotEvery = opts.snapshotEvery ?? 1000;
    this.now = opts.now ?? Date.now;
  }

  /** The journal file of a rollout (`namespace/name`). */
  fileOf(rollout: string): string {
    const { namespace, name } = parseRolloutId(rollout);
    return join(this.stateDir, 'journal', namespace, `${name}.jsonl`);
  }

  /** Every entry, in order (snapshots left out): for readers of the whole history; a start uses `replay`. */
  async read(rollout: string): Promise<JournalEntry[]> {
    const entries: JournalEntry[] = [];
    await this.scan(rollout, (e) => entries.push(e));
    return entries;
  }

  /**
   * Streams a rollout's entries to `onEntry` without collecting them (large journals), snapshot
   * lines left out. A torn last line is truncated away with a warning (unless read-only, where
   * it is skipped).
   */
  async scan(rollout: string, onEntry: (entry: JournalEntry) => void): Promise<ScanSummary> {
    const file = this.fileOf(rollout);
    return this.enqueue(rollout, () =>
      this.withReadSlot(async () => {
        const summary = await scanJournalFile(file, onEntry, { rollout });
        await this.dropTornTail(summary);
        return summary;
      }),
    );
  }

  /** The state after the whole journal, replayed from its last usable snapshot; never holds the entries. */
  async replay(rollout: string): Promise<RolloutState> {
    const file = this.fileOf(rollout);
    return this.enqueue(rollout, async () => {
      const known = this.readOnly ? undefined : this.tracked.get(rollout);
      if (known) return known.state;
      const { state, summary } = await this.withReadSlot(() => this.replayFile(rollout, file));
      if (!this.readOnly && summary.exists) this.tracked.set(rollout, { lastSeq: summary.lastSeq, size: summary.validBytes, state, sinceSnapshot: summary.sinceSnapshot });
      return state;
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
      this.busy.add(rollout);
      try {
        const t = await this.track(rollout, file);
        const problem = contractViolation(entry, t.lastSeq, rollout);
        if (problem) throw new JournalContractError(rollout, `${problem}; refusing to write`);
        const fh = await this.handle(rollout, file);
        const line = Buffer.from(`${JSON.stringify(entry)}\n`, 'utf8');
        try {
          await writeAll(fh, line);
          await fh.datasync();
        } catch (err) {
          // The append failed, so the entry must not be there: a line written whole whose
          // fdatasync failed would otherwise be read back later as if it had been acknowledged.
          // Cut the file back to its last whole line; if even that fails, forget the file and
          // let the next access re-read it (a torn tail is truncated then).
          await this.cutBack(fh, t.size, err).catch(() => this.forget(rollout));
          throw new Error(`journal ${file}: append failed: ${(err as Error).message}`, { cause: err });
        }
        t.size += line.length;
        if (isDecisionRecord(entry)) t.lastSeq = entry.seq;
        const before = t.state;
        t.state = applyEntry(t.state, entry);
        t.sinceSnapshot++;
        if (t.sinceSnapshot >= this.snapshotEvery || endsPhase(entry, before, t.state)) await this.writeSnapshot(rollout, file, fh, t);
      } finally {
        this.busy.delete(rollout);
        this.wakeSlotWaiter();
      }
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
    await Promise.all([...this.handles.keys()].map((r) => this.closeHandle(r)));
  }

  /**
   * The state and the scan summary of a journal file: from the last usable snapshot (found
   * reading backwards), else from the beginning. A snapshot that fails its check, or that
   * the lines around it contradict, is skipped with a warning.
   */
  private async replayFile(rollout: string, file: string): Promise<{ state: RolloutState; summary: ScanSummary }> {
    // Collected first, so that one file is open at a time.
    const candidates: SnapshotLineAt[] = [];
    for await (const found of snapshotsFromEnd(file)) if (candidates.push(found) >= SNAPSHOTS_TRIED) break;
    for (const found of candidates) {
      const where = `${file} at byte ${found.offset}`;
      const checked = parseSnapshot(found.text, rollout, found.before);
      if (!checked.ok) {
        this.log.warn({ file, offset: found.offset, reason: checked.error }, `journal ${where}: ignoring a state snapshot (${checked.error}); replaying from an earlier one`);
        continue;
      }
      let state = replay(rollout, [], checked.snapshot.state);
      try {
        const summary = await scanJournalFile(file, (e) => (state = applyEntry(state, e)), { rollout, from: { offset: found.end, lastSeq: checked.snapshot.snapshot } });
        await this.dropTornTail(summary);
        return { state, summary };
      } catch (err) {
        if (!(err instanceof JournalCorruptError)) throw err;
        this.log.warn({ file, offset: found.offset, reason: err.detail }, `journal ${where}: ignoring a state snapshot the lines after it contradict (${err.detail}); replaying from an earlier one`);
      }
    }
    let state = initialState(rollout);
    const summary = await scanJournalFile(file, (e) => (state = applyEntry(state, e)), { rollout });
    await this.dropTornTail(summary);
    return { state, summary };
  }

  /** What the journal knows of a rollout it is about to append to: replayed (or created) on first use. */
  private async track(rollout: string, file: string): Promise<Tracked> {
    const known = this.tracked.get(rollout);
    if (known) return known;
    const { state, summary } = await this.withReadSlot(() => this.replayFile(rollout, file));
    if (!summary.exists) {
      await this.create(file);
      await this.openHandle(rollout, file);
    }
    const t: Tracked = { lastSeq: summary.lastSeq, size: summary.validBytes, state, sinceSnapshot: summary.sinceSnapshot };
    this.tracked.set(rollout, t);
    return t;
  }

  /** The append fd of a rollout: the open one (now the most recently used), or a new one in a free slot. */
  private async handle(rollout: string, file: string): Promise<JournalFileHandle> {
    const open = this.handles.get(rollout);
    if (!open) return this.openHandle(rollout, file);
    this.handles.delete(rollout);
    this.handles.set(rollout, open);
    return open;
  }

  private async openHandle(rollout: string, file: string): Promise<JournalFileHandle> {
    await this.acquireSlot();
    let fh: JournalFileHandle;
    try {
      fh = await this.fs.open(file, 'a');
    } catch (err) {
      this.releaseSlot();
      throw err;
    }
    this.handles.set(rollout, fh);
    return fh;
  }

  /**
   * Takes one of the maxOpenFiles slots, waiting for one when all are taken and closing the
   * least recently used idle append fd when that makes room.
   */
  private async acquireSlot(): Promise<void> {
    while (this.slots >= this.maxOpen) {
      const idle = [...this.handles.keys()].find((r) => !this.busy.has(r));
      if (idle !== undefined) await this.closeHandle(idle);
      else await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
    }
    this.slots++;
  }

  private releaseSlot(): void {
    this.slots--;
    this.wakeSlotWaiter();
  }

  /** Wakes an operation waiting for a slot: one was released, or an fd became idle. */
  private wakeSlotWaiter(): void {
    this.slotWaiters.shift()?.();
  }

  /** Runs `op`, which has one file open at a time for reading, within maxOpenFiles. */
  private async withReadSlot<T>(op: () => Promise<T>): Promise<T> {
    await this.acquireSlot();
    try {
      return await op();
    } finally {
      this.releaseSlot();
    }
  }

  /** Appends a snapshot of `t.state` after the line just written; a failure only costs the snapshot. */
  private async writeSnapshot(rollout: string, file: string, fh: JournalFileHandle, t: Tracked): Promise<void> {
    const line = Buffer.from(`${snapshotLine(t.state, new Date(this.now()).toISOString())}\n`, 'utf8');
    try {
      await writeAll(fh, line);
    } catch (err) {
      this.log.warn({ file, err: (err as Error).message }, `journal ${file}: cannot write a state snapshot; the next start replays from an earlier one`);
      await this.cutBack(fh, t.size, err).catch(() => this.forget(rollout));
      return;
    }
    t.size += line.length;
    t.sinceSnapshot = 0;
  }

  /** Creates an empty journal file and makes its directory entries durable, one fd at a time (in a slot). */
  private async create(file: string): Promise<void> {
    const dir = join(file, '..');
    await this.withReadSlot(async () => {
      const madeFrom = await mkdir(dir, { recursive: true });
      await (await open(file, 'a')).close();
      await fsyncDir(dir);
      if (madeFrom !== undefined) {
        await fsyncDir(join(dir, '..'));
        await fsyncDir(this.stateDir);
      }
    });
    this.log.debug({ file }, 'journal created');
  }

  private async dropTornTail(summary: ScanSummary): Promise<void> {
    const torn = summary.torn;
    if (!torn) return;
    const where = torn.line !== undefined ? `${summary.file}:${torn.line}` : `${summary.file} at byte ${torn.offset}`;
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

  /** Truncates a journal back to its last acknowledged line after a failed write, durably. */
  private async cutBack(fh: JournalFileHandle, size: number, cause: unknown): Promise<void> {
    await fh.truncate(size);
    await fh.datasync();
    this.log.warn({ size, err: (cause as Error).message }, 'journal append failed; the file was cut back to its last acknowledged line');
  }

  /** Forgets a rollout's file (after a write that could not be cut back): the next access replays it. */
  private async forget(rollout: string): Promise<void> {
    this.tracked.delete(rollout);
    await this.closeHandle(rollout);
  }

  private async closeHandle(rollout: string): Promise<void> {
    const fh = this.handles.get(rollout);
    if (!fh) return;
    this.handles.delete(rollout);
    await fh.close().catch(() => undefined);
    this.releaseSlot();
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

async function writeAll(fh: JournalFileHandle, line: Buffer): Promise<void> {
  let off = 0;
  while (off < line.length) off += (await fh.write(line, off, line.length - off)).bytesWritten;
}

/** A record that ends a phase or the rollout: a snapshot follows it. */
function endsPhase(entry: JournalEntry, before: RolloutState, after: RolloutState): boolean {
  if (!isDecisionRecord(entry)) return false;
  return entry.decision === 'advance' || entry.decision === 'complete' || (isTerminal(after) && !isTerminal(before));
}

/** A snapshot line found from the end, checked on its own and against the line before it. */
function parseSnapshot(text: string, rollout: string, before: string | null): { ok: true; snapshot: StateSnapshot } | { ok: false; error: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: `not JSON (${(err as Error).message})` };
  }
  const checked = checkSnapshot(value, rollout);
  if (!checked.ok) return checked;
  const seq = checked.snapshot.snapshot;
  if (before === null ? seq !== 0 : !snapshotFollows(before, seq)) return { ok: false, error: `snapshot ${seq} does not follow the line before it` };
  return checked;
}
