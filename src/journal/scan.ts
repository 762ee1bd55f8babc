/**
 * The streaming journal reader: reads a JSONL journal in large chunks, validates every line
 * and the sequence contract, and yields entries one by one, so a 100,000-record journal is
 * replayed without holding the file or the entries in memory.
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

export interface TornTail {
  /** 1-based line number of the torn line. */
  line: number;
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
}

const NEWLINE = 0x0a;

/**
 * Yields every valid entry of `file` in order and returns the summary (use `.next()` to get
 * it, or scanJournalFile). A missing file yields nothing.
 */
export async function* streamJournalFile(
  file: string,
  opts: ScanOptions = {},
): AsyncGenerator<JournalEntry, ScanSummary, undefined> {
  const summary: ScanSummary = { file, exists: true, entries: 0, lastSeq: 0, validBytes: 0 };
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
    let readTotal = 0;
    let line = 0;
    let bad: { line: number; offset: number; reason: string } | null = null;

    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, chunkSize, null);
      if (bytesRead === 0) break;
      const data: Buffer = carry ? Buffer.concat([carry, buf.subarray(0, bytesRead)]) : buf.subarray(0, bytesRead);
      const dataStart = carry ? carryStart : readTotal;
      readTotal += bytesRead;
      let pos = 0;
      for (let nl = data.indexOf(NEWLINE, pos); nl >= 0; nl = data.indexOf(NEWLINE, pos)) {
        line++;
        if (bad) throw new JournalCorruptError(file, bad.line, `${bad.reason} (followed by more lines)`);
        const parsed = parseJournalLine(data.toString('utf8', pos, nl));
        if (parsed.ok) {
          const problem = contractViolation(parsed.entry, summary.lastSeq, opts.rollout);
          if (problem) throw new JournalCorruptError(file, line, problem);
          if (isDecisionRecord(parsed.entry)) summary.lastSeq = parsed.entry.seq;
          summary.entries++;
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
      summary.torn = { line, offset: carryStart, bytes: carry.length, reason: 'no trailing newline' };
    } else if (bad) {
      summary.torn = { line: bad.line, offset: bad.offset, bytes: readTotal - bad.offset, reason: bad.reason };
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
