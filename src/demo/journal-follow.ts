/**
 * Follows a rollout's journal (`<stateDir>/journal/<namespace>/<name>.jsonl`) written by a
 * `rollgate run` in another process, as `tail -f` would: every `intervalMs` it reads what was
 * appended, validates each complete line against the record schemas, and folds it into the
 * rollout's state with the engine's own `applyEntry`, so the demo shows exactly what the
 * controller would replay. A line still being written is left for the next poll.
 *
 *   const follow = followJournal(stateDir, 'shop/checkout', { onRecord: (r, s) => ... });
 *   await follow.waitFor((r) => r.decision === 'complete', 60_000);
 *   follow.stop();
 */
import { open } from 'node:fs/promises';
import path from 'node:path';
import { applyEntry, initialState, type RolloutState } from '../core/state.js';
import { parseRolloutId } from '../core/journal.js';
import { parseJournalLine } from '../core/journal-contract.js';
import { isAppliedMark, isDecisionRecord, type AppliedMark, type DecisionRecord, type JournalEntry } from '../core/record.js';
import { formatSpan } from '../support/human-time.js';

export interface FollowHandlers {
  onRecord?: (r: DecisionRecord, state: RolloutState) => void;
  onApplied?: (m: AppliedMark, state: RolloutState) => void;
}

export interface JournalFollower {
  readonly file: string;
  state(): RolloutState;
  records(): readonly DecisionRecord[];
  marks(): readonly AppliedMark[];
  /** Resolves with the first record (already read or to come) matching `pred`. */
  waitFor(pred: (r: DecisionRecord) => boolean, timeoutMs: number, what?: string): Promise<DecisionRecord>;
  /** Resolves with the applied mark of decision `seq`. */
  waitForMark(seq: number, timeoutMs: number): Promise<AppliedMark>;
  /** Reads what is new right now. */
  poll(): Promise<void>;
  stop(): void;
}

export function journalFileOf(stateDir: string, rollout: string): string {
  const { namespace, name } = parseRolloutId(rollout);
  return path.join(stateDir, 'journal', namespace, `${name}.jsonl`);
}

/** One journal line: an entry, or null for a state snapshot (a cache of the state the entries before it give: nothing to fold). */
function parseEntry(file: string, lineNo: number, line: string): JournalEntry | null {
  const parsed = parseJournalLine(line);
  if (parsed.ok === 'snapshot') return null;
  if (!parsed.ok) throw new Error(`${file}:${lineNo}: ${parsed.error}`);
  return parsed.entry;
}

export function followJournal(stateDir: string, rollout: string, handlers: FollowHandlers = {}, intervalMs = 100): JournalFollower {
  const file = journalFileOf(stateDir, rollout);
  let state = initialState(rollout);
  const records: DecisionRecord[] = [];
  const marks: AppliedMark[] = [];
  let offset = 0;
  let pending = '';
  let lineNo = 0;
  let polling: Promise<void> | null = null;
  let failure: Error | null = null;
  const waiters = new Set<() => void>();

  const readNew = async (): Promise<void> => {
    let fh;
    try {
      fh = await open(file, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    try {
      const { size } = await fh.stat();
      if (size <= offset) return;
      const buf = Buffer.alloc(size - offset);
      const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
      offset += bytesRead;
      pending += buf.subarray(0, bytesRead).toString('utf8');
    } finally {
      await fh.close();
    }
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      lineNo++;
      if (line.trim() === '') continue;
      const e = parseEntry(file, lineNo, line);
      if (e === null) continue;
      state = applyEntry(state, e);
      if (isAppliedMark(e)) {
        marks.push(e);
        handlers.onApplied?.(e, state);
      } else if (isDecisionRecord(e)) {
        records.push(e);
        handlers.onRecord?.(e, state);
      }
    }
    for (const w of [...waiters]) w();
  };

  const poll = (): Promise<void> => {
    polling ??= readNew()
      .catch((err: unknown) => {
        failure = err instanceof Error ? err : new Error(String(err));
        for (const w of [...waiters]) w();
      })
      .finally(() => (polling = null));
    return polling;
  };

  const timer = setInterval(() => void poll(), intervalMs);

  function until<T>(probe: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const check = () => {
        if (failure) return finish(() => reject(failure));
        const v = probe();
        if (v !== undefined) finish(() => resolve(v));
      };
      const timeout = setTimeout(
        () => finish(() => reject(new Error(`no ${what} in ${file} within ${formatSpan(timeoutMs)} (last: seq ${state.seq} ${state.last?.decision ?? '-'}, phase ${state.phaseName || '-'})`))),
        timeoutMs,
      );
      const finish = (fn: () => void) => {
        clearTimeout(timeout);
        waiters.delete(check);
        fn();
      };
      waiters.add(check);
      check();
    });
  }

  return {
    file,
    state: () => state,
    records: () => records,
    marks: () => marks,
    waitFor: (pred, timeoutMs, what = 'matching decision') => until(() => records.find(pred), timeoutMs, what),
    waitForMark: (seq, timeoutMs) => until(() => marks.find((m) => m.applied === seq), timeoutMs, `applied mark of decision ${seq}`),
    poll,
    stop: () => clearInterval(timer),
  };
}
