/**
 * The plan note of a rollout: what `rollgate run` has in force for it, for `rollgate status`
 * (and `rollgate history`, for the plan's time zone) to read beside the journal. One small JSON file per rollout at
 * `<stateDir>/plans/<namespace>/<name>.json`, written by the controller that owns the state dir
 * when it starts managing a plan, when a new version of it applies, and when an edit of its
 * file is rejected (`rejected`: the file's errors; cleared when the file loads again). Removed
 * when the plan is no longer managed (its file is gone).
 *
 * Replaced atomically (a temp file renamed over it) so a reader never sees half a note; not
 * fsync'd: it is a view of the controller's state, rewritten at every start, never a record
 * (the journal is). A missing or unreadable note is `null`: status then shows what the journal
 * says, without the plan's time zone, guard size or rejected edit.
 */
import { mkdir, readFile, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { isErrno, writeFileAtomic } from '../support/fsutil.js';
import { parseRolloutId } from '../core/journal.js';

export const PLAN_NOTES_DIR = 'plans';

/** An edit of the plan's file that did not apply: the previous version stays in force. */
export const rejectedEditSchema = z.object({
  /** When the controller found the edit (RFC 3339). */
  at: z.string(),
  file: z.string(),
  /** Each error as `FILE:LINE:COL: path.to.field: message` (as `rollgate validate` prints it). */
  errors: z.array(z.string()),
});
export type RejectedEdit = z.infer<typeof rejectedEditSchema>;

export const planNoteSchema = z.object({
  rollout: z.string(),
  /** The plan file the rollout's plan comes from. */
  file: z.string(),
  /** The version in force. */
  revision: z.string(),
  planHash: z.string(),
  /** The plan's time zone (its deployment windows'), for times shown to people; null: UTC. */
  timeZone: z.string().nullable(),
  /** The guard: evaluations in a row that roll back, and its interval (a duration); null when it watches no metric. */
  guard: z.object({ consecutive: z.number().int(), interval: z.string() }).nullable(),
  rejected: rejectedEditSchema.nullable(),
});
export type PlanNote = z.infer<typeof planNoteSchema>;

/** The note file of a rollout id `namespace/name`. */
export function planNoteFile(stateDir: string, rollout: string): string {
  const { namespace, name } = parseRolloutId(rollout); // checked labels: the path stays inside the state dir
  return join(stateDir, PLAN_NOTES_DIR, namespace, `${name}.json`);
}

/** Writes the note (replacing the previous one atomically; not fsync'd: see above). */
export async function writePlanNote(stateDir: string, note: PlanNote): Promise<void> {
  const file = planNoteFile(stateDir, note.rollout);
  await mkdir(dirname(file), { recursive: true });
  await writeFileAtomic(file, `${JSON.stringify(note)}\n`, { durable: false });
}

/** Removes the note of a rollout no longer managed (no error when there is none). */
export async function removePlanNote(stateDir: string, rollout: string): Promise<void> {
  await unlink(planNoteFile(stateDir, rollout)).catch((err: unknown) => {
    if (!isErrno(err, 'ENOENT')) throw err;
  });
}

/** The note of a rollout, or null when there is none or it cannot be read. */
export async function readPlanNote(stateDir: string, rollout: string): Promise<PlanNote | null> {
  try {
    const parsed = planNoteSchema.safeParse(JSON.parse(await readFile(planNoteFile(stateDir, rollout), 'utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
