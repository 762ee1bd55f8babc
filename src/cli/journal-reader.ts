/**
 * Read-only access to the journals of a state dir for `status` and `history`; safe beside a
 * running controller (nothing is locked, written or truncated). `readRollout` also reads the
 * in-cluster journal (ConfigMapJournal, see kube-reader.ts): any Journal. Neither holds every
 * entry of a journal: the state is replayed from the last snapshot, and `history` streams.
 */
import { existsSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { FileJournal } from '../journal/file-journal.js';
import type { Journal } from '../core/journal.js';
import { decisionRecordSchema, isDecisionRecord, type DecisionRecord } from '../core/record.js';
import type { RolloutState } from '../core/state.js';
import { resolveRollout } from '../core/resolve.js';
import { CliError } from './options.js';

export function openJournal(stateDir: string): FileJournal {
  if (!existsSync(stateDir)) throw new CliError(`state dir ${stateDir} does not exist (give --state-dir, as used by rollgate run)`, 1);
  return new FileJournal(stateDir, { readOnly: true });
}

export async function findRollout(journal: FileJournal, name: string): Promise<string> {
  const ids = await journal.rollouts();
  const id = resolveRollout(name, ids);
  if (id) return id;
  const matches = ids.filter((i) => i.endsWith(`/${name}`));
  if (matches.length > 1) throw new CliError(`rollout ${name} is ambiguous: ${matches.join(', ')}; use namespace/name`, 1);
  throw new CliError(`unknown rollout ${name} in ${journal.stateDir} (known: ${ids.join(', ') || 'none'})`, 1);
}

export interface RolloutView {
  id: string;
  state: RolloutState;
}

/** The replayed state of a rollout. */
export async function readRollout(journal: Pick<Journal, 'replay'>, id: string): Promise<RolloutView> {
  return { id, state: await journal.replay(id) };
}

/** Streams the decision records of a rollout (marks and snapshots left out), oldest first. */
export async function eachRecord(journal: FileJournal, id: string, onRecord: (r: DecisionRecord) => void): Promise<void> {
  await journal.scan(id, (e) => {
    if (isDecisionRecord(e)) onRecord(e);
  });
}

/** How far back from a journal's end `lastJudgement` looks (bounded whatever the journal's size), and its step. */
export const LAST_JUDGEMENT_SCAN_BYTES = 1024 * 1024;
const LAST_JUDGEMENT_CHUNK_BYTES = 64 * 1024;

/** The latest judging record among whole `lines` (newest last), or null. */
function judgingRecord(lines: string[]): DecisionRecord | null {
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!;
    if (line.startsWith('{"snapshot"') || !line.includes('"metrics":[{')) continue;
    try {
      const r = decisionRecordSchema.safeParse(JSON.parse(line));
      if (r.success && r.data.metrics && r.data.metrics.length > 0) return r.data;
    } catch {
      /* a torn line */
    }
  }
  return null;
}

/**
 * The latest decision record that judged metrics (a checkpoint or guard record with
 * `metrics`), read backwards from the end of the rollout's journal file in 64 KiB steps,
 * at most LAST_JUDGEMENT_SCAN_BYTES of it; null when there is none in that span.
 */
export async function lastJudgement(journal: FileJournal, id: string): Promise<DecisionRecord | null> {
  let fh;
  try {
    fh = await open(journal.fileOf(id), 'r');
  } catch {
    return null;
  }
  try {
    const size = (await fh.stat()).size;
    const floor = Math.max(0, size - LAST_JUDGEMENT_SCAN_BYTES);
    let start = size;
    let tail = Buffer.alloc(0); // bytes [start, start + tail.length) not yet searched as whole lines
    while (start > floor) {
      const from = Math.max(floor, start - LAST_JUDGEMENT_CHUNK_BYTES);
      const chunk = Buffer.alloc(start - from);
      await fh.read(chunk, 0, chunk.length, from);
      start = from;
      tail = Buffer.concat([chunk, tail]);
      // Whole lines only: the bytes before the first newline may be the end of a longer line.
      const nl = start === 0 ? -1 : tail.indexOf(0x0a);
      if (nl < 0 && start > 0) continue;
      const found = judgingRecord(tail.subarray(nl + 1).toString('utf8').split('\n'));
      if (found) return found;
      tail = tail.subarray(0, nl + 1);
    }
    return null;
  } finally {
    await fh.close();
  }
}
