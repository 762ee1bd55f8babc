/**
 * Checkpoints of a phase: offsets from the moment the phase's evidence window opens (split
 * applied + settle), absolute instants, or `{every, until}` blocks that continue one another.
 */
import { parseDuration, parseInstant } from './duration.js';
import type { Phase } from './schema.js';

export type CheckpointSpec = { offset: number } | { instant: number };

/** The checkpoints of a phase in plan order, `{every, until}` blocks expanded. */
export function checkpointSpecs(phase: Pick<Phase, 'checkpoints'>): CheckpointSpec[] {
  const items = Array.isArray(phase.checkpoints) ? phase.checkpoints : [phase.checkpoints];
  const out: CheckpointSpec[] = [];
  let blockStart = 0;
  for (const item of items) {
    if (typeof item === 'string') {
      const offset = parseDuration(item);
      if (offset !== null) {
        out.push({ offset });
        blockStart = offset;
      } else {
        out.push({ instant: parseInstant(item)! });
      }
      continue;
    }
    if (item.every <= 0) continue;
    for (let t = blockStart + item.every; t <= item.until; t += item.every) out.push({ offset: t });
    blockStart = Math.max(blockStart, item.until);
  }
  return out;
}

/** Absolute due times (epoch ms) of a phase whose evidence window opened at `windowOpen`. */
export function checkpointDueTimes(phase: Pick<Phase, 'checkpoints'>, windowOpen: number): number[] {
  return checkpointSpecs(phase).map((c) => ('offset' in c ? windowOpen + c.offset : c.instant));
}

/**
 * When a checkpoint is judged: its due time, unless that is not after the start of the span it
 * judges (absolute instants in a phase that began late, a long hold): then one retry interval
 * after the span opens, so a judged span is never empty.
 */
export function judgementTime(due: number, spanStart: number, retryIntervalMs: number): number {
  return due > spanStart ? due : spanStart + retryIntervalMs;
}
