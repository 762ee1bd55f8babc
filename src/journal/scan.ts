/**
 * The streaming journal reader: reads a JSONL journal in large chunks, validates every line
 * and the sequence contract, and yields entries one by one, so a 100,000-record journal is
 * replayed without holding the file or the entries in memory. It can start at a byte offset
 * (the end of a state snapshot line, after the record with seq `lastSeq`); snapshot lines met
 * on the way are skipped (a cache, not entries). `snapshotsFromEnd` finds the snapshot lines
 * reading the file backwards from its end, so a start never reads what precedes the last one.
 *
 * A torn last line (no trailing newline, or unparsable: the process died mid-write, so the
 * append was never acknowledged) is reported in the summary, not thrown; the caller decides
 * whether to truncate it. A bad line followed by more lines is corruption: JournalCorruptError
 * naming file and line.
 */
import { open } from 'node:fs/promises';
import { contractViolation, parseJournalLine } from '../core/journal-contract.js';
import { JournalCorruptError } from '../core/journal.js';
import { isDecisionRecord, type JournalEntry } from '../core/record.js';
import { isErrno } from '../support/fsutil.js';
import { SNAPSHOT_LINE_PREFIX } from '../core/snapshot.js';

export interface TornTail {
  /** 1-based line number of the torn line (unknown when the scan started after a snapshot). */
  line?: number;
  /** Byte offset where it starts: the length of the valid journal. */
  offset: number;
  bytes: number;
  reason: string;
}

export interface ScanSummary {
  file: string;
  /** Whether the file exists. */
  exists: boolean;
  /** Valid entries read. */
  entries: number;
  /** Valid entries after the last usable snapshot line read (all of them when there is none). */
  sinceSnapshot: number;
  /** Highest decision seq (0 when none). */
  lastSeq: number;
  /** Bytes of valid, newline-terminated lines. */
  validBytes: number;
  torn?: TornTail;
}

export interface ScanOptions {
  /** When set, every entry must belong to this rollout. */
  rollout?: string;
  /** Read size; 1 MiB by default. */
  chunkSize?: number;
  /**
   * Start at this byte offset (the start of a line) with this last seq, instead of the
   * beginning; line numbers in errors then count from there.
   */
  from?: { offset: number; lastSeq: number };
}

const NEWLINE = 0x0a;
const SNAPSHOT_PREFIX = Buffer.from(SNAPSHOT_LINE_PREFIX, 'utf8');

/**
 * Yields every valid entry of `file` in order and returns the summary (use `.next()` to get
 * it, or scanJournalFile). A missing file yields nothing.
 */
export async function* streamJournalFile(
  file: string,
  opts: ScanOptions = {},
): AsyncGenerator<JournalEntry, ScanSummary, undefined> {
  const from = opts.from ?? { offset: 0, lastSeq: 0 };
  const summary: ScanSummary = { file, exists: true, entries: 0, sinceSnapshot: 0, lastSeq: from.lastSeq, validBytes: from.offset };
  let fh;
  try {
    fh = await open(file, 'r');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return { ...summary, exists: false };
    throw err;
  }
  try {
    const chunkSize = opts.chunkSize ?? 1 << 20;
    const buf = Buffer.allocUnsafe(chunkSize);
    let carry: Buffer | null = null; // an incomplete line from the previous chunk
    let carryStart = 0; // its byte offset in the file
    let readTotal = from.offset;
    // Line numbers are only known from the beginning of the file.
    let line = 0;
    const lineNo = () => (from.offset === 0 ? line : undefined);
    let bad: { line: number; offset: number; reason: string } | null = null;

    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, chunkSize, readTotal);
      if (bytesRead === 0) break;
      const data: Buffer = carry ? Buffer.concat([carry, buf.subarray(0, bytesRead)]) : buf.subarray(0, bytesRead);
      const dataStart = carry ? carryStart : readTotal;
      readTotal += bytesRead;
      let pos = 0;
      for (let nl = data.indexOf(NEWLINE, pos); nl >= 0; nl = data.indexOf(NEWLINE, pos)) {
        line++;
        if (bad) throw new JournalCorruptError(file, bad.line, `${bad.reason} (followed by more lines)`);
        const parsed = parseJournalLine(data.toString('utf8', pos, nl), opts.rollout);
        if (parsed.ok === 'snapshot') {
          if (parsed.check.ok && parsed.check.snapshot.snapshot === summary.lastSeq) summary.sinceSnapshot = 0;
          summary.validBytes = dataStart + nl + 1;
        } else if (parsed.ok) {
          const problem = contractViolation(parsed.entry, summary.lastSeq, opts.rollout);
          if (problem) throw new JournalCorruptError(file, line, problem);
          if (isDecisionRecord(parsed.entry)) summary.lastSeq = parsed.entry.seq;
          summary.entries++;
          summary.sinceSnapshot++;
          summary.validBytes = dataStart + nl + 1;
          yield parsed.entry;
        } else {
          bad = { line, offset: dataStart + pos, reason: parsed.error };
        }
        pos = nl + 1;
      }
      // Copy the remainder: `buf` is reused by the next read.
      carry = pos < data.length ? Buffer.from(data.subarray(pos)) : null;
      carryStart = dataStart + pos;
    }
    if (carry) {
      line++;
      if (bad) throw new JournalCorruptError(file, bad.line, `${bad.reason} (followed by more lines)`);
      summary.torn = { line: lineNo(), offset: carryStart, bytes: carry.length, reason: 'no trailing newline' };
    } else if (bad) {
      summary.torn = { line: from.offset === 0 ? bad.line : undefined, offset: bad.offset, bytes: readTotal - bad.offset, reason: bad.reason };
    }
    return summary;
  } finally {
    await fh.close();
  }
}

/** Calls `onEntry` for every valid entry of `file`; returns the summary (torn tail included). */
export async function scanJournalFile(
  file: string,
  onEntry: (entry: JournalEntry) => void,
  opts: ScanOptions = {},
): Promise<ScanSummary> {
  const it = streamJournalFile(file, opts);
  for (;;) {
    const r = await it.next();
    if (r.done) return r.value;
    onEntry(r.value);
  }
}

/** A snapshot line found reading backwards, and the line just before it (null: the first line). */
export interface SnapshotLineAt {
  text: string;
  /** Byte offsets of the line: `end` is just past its newline, where the entries after it begin. */
  offset: number;
  end: number;
  before: string | null;
}

/** A newline-terminated line of a file: its bytes (newline excluded) and where it is (`end` just past its newline). */
export interface LineAt {
  line: Buffer;
  offset: number;
  end: number;
}

/**
 * Yields the newline-terminated lines of `file`, the last one first, reading `chunkSize`
 * bytes at a time backwards from the end and never below byte `floor`: a line that begins
 * before it (or may, when the byte before `floor` is not known to be a newline) is not
 * yielded. An unterminated last line (torn) is never one. A missing file yields nothing.
 */
export async function* linesFromEnd(file: string, chunkSize = 64 * 1024, floor = 0): AsyncGenerator<LineAt, void, undefined> {
  let fh;
  try {
    fh = await open(file, 'r');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return;
    throw err;
  }
  try {
    let bufStart = (await fh.stat()).size;
    let buf = Buffer.alloc(0); // bytes [bufStart, bufStart + buf.length) not yet split into lines
    let seenEnd = false; // whether buf ends at a newline (the end of the next line backwards)
    for (;;) {
      if (!seenEnd) {
        const nl = buf.lastIndexOf(NEWLINE);
        if (nl >= 0) {
          buf = buf.subarray(0, nl + 1);
          seenEnd = true;
        }
      }
      if (seenEnd) {
        // Every line of buf that begins after a newline in it (or at the start of the file).
        for (;;) {
          const prevNl = buf.length >= 2 ? buf.lastIndexOf(NEWLINE, buf.length - 2) : -1;
          if (prevNl < 0 && bufStart > 0) {
            if (bufStart > floor) break; // read further back
            return; // at the floor: where this line begins is not known
          }
          const startInBuf = prevNl + 1;
          const lineStart = bufStart + startInBuf;
          yield { line: buf.subarray(startInBuf, buf.length - 1), offset: lineStart, end: lineStart + buf.length - startInBuf };
          buf = buf.subarray(0, startInBuf);
          if (buf.length === 0) break;
        }
      }
      if (bufStart <= floor) break;
      const n = Math.min(chunkSize, bufStart - floor);
      const chunk = Buffer.allocUnsafe(n);
      bufStart -= n;
      let got = 0;
      while (got < n) {
        const { bytesRead } = await fh.read(chunk, got, n - got, bufStart + got);
        if (bytesRead === 0) throw new Error(`${file}: shrank while being read`);
        got += bytesRead;
      }
      buf = buf.length ? Buffer.concat([chunk, buf]) : chunk;
    }
  } finally {
    await fh.close();
  }
}

/**
 * Yields the newline-terminated snapshot lines of `file` (those starting with
 * SNAPSHOT_LINE_PREFIX), the last one first, reading `chunkSize` bytes at a time backwards
 * from the end: finding the last snapshot of a large journal reads only what follows it (and
 * one chunk). An unterminated last line (torn) is never one. A missing file yields nothing.
 */
export async function* snapshotsFromEnd(file: string, chunkSize = 64 * 1024): AsyncGenerator<SnapshotLineAt, void, undefined> {
  let pending: { text: string; offset: number; end: number } | null = null;
  for await (const { line, offset, end } of linesFromEnd(file, chunkSize)) {
    if (pending) {
      yield { ...pending, before: line.toString('utf8') };
      pending = null;
    }
    if (line.length >= SNAPSHOT_PREFIX.length && line.subarray(0, SNAPSHOT_PREFIX.length).equals(SNAPSHOT_PREFIX)) {
      pending = { text: line.toString('utf8'), offset, end };
    }
  }
  if (pending) yield { ...pending, before: null };
}
