/**
 * Read-only access to the journals of a state dir for `status` and `history`; safe beside a
 * running controller (nothing is locked, written or truncated). `readRollout` also reads the
 * in-cluster journal (ConfigMapJournal, see kube-reader.ts): any Journal. Neither holds every
 * entry of a journal: the state is replayed from the last snapshot, and `history` streams.
 */
import { constants, existsSync } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { linesFromEnd } from '../journal/scan.js';
import { SNAPSHOT_LINE_PREFIX } from '../core/snapshot.js';
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

/**
 * The latest decision record that judged metrics (a checkpoint or guard record with
 * `metrics`), read backwards from the end of the rollout's journal file in 64 KiB steps,
 * at most LAST_JUDGEMENT_SCAN_BYTES of it; null when there is none in that span.
 */
export async function lastJudgement(journal: FileJournal, id: string): Promise<DecisionRecord | null> {
  const file = journal.fileOf(id);
  let size: number;
  try {
    await access(file, constants.R_OK);
    size = (await stat(file)).size;
  } catch {
    return null;
  }
  for await (const { line } of linesFromEnd(file, LAST_JUDGEMENT_CHUNK_BYTES, Math.max(0, size - LAST_JUDGEMENT_SCAN_BYTES))) {
    const text = line.toString('utf8');
    if (text.startsWith(SNAPSHOT_LINE_PREFIX) || !text.includes('"metrics":[{')) continue;
    try {
      const r = decisionRecordSchema.safeParse(JSON.parse(text));
      if (r.success && r.data.metrics && r.data.metrics.length > 0) return r.data;
    } catch {
      /* a torn line */
    }
  }
  return null;
}
