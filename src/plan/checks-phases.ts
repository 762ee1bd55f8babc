/**
 * Checks of each phase's checkpoints: offsets strictly increase (after `{every, until}`
 * expansion), instants strictly increase and come after any startAt, and one list does not
 * mix offsets with instants.
 */
import { error, warning, type PathSegment, type PlanIssue } from './diagnostic.js';
import { formatDuration, isoTime as isoMs, parseDuration, parseInstant } from './duration.js';
import type { Phase, Plan } from './schema.js';

type Item = Phase['checkpoints'] extends infer C ? (C extends readonly (infer I)[] ? I : C) : never;
const isoTime = (ms: number): string => isoMs(ms).replace('.000Z', 'Z');
type Kind = 'offset' | 'instant' | 'every';

function kindOf(item: Item): Kind {
  if (typeof item !== 'string') return 'every';
  return parseDuration(item) !== null ? 'offset' : 'instant';
}

function relativeCheckpoints(items: Array<{ item: Item; path: PathSegment[] }>): PlanIssue[] {
  const out: PlanIssue[] = [];
  let last = 0; // the latest checkpoint so far (offset)
  let blockStart = 0; // where the next {every, until} block continues from
  for (const { item, path } of items) {
    if (typeof item === 'string') {
      const offset = parseDuration(item)!;
      if (offset <= 0) out.push(error(path, `expected an offset after 0s, got ${item}`));
      else if (offset <= last) {
        out.push(error(path, `checkpoints must strictly increase: ${item} is not after the previous checkpoint (${formatDuration(last)})`));
      }
      last = Math.max(last, offset);
      blockStart = offset;
      continue;
    }
    const { every, until } = item;
    if (every <= 0) {
      out.push(error([...path, 'every'], `expected a duration greater than 0s, got ${formatDuration(every)}`));
      continue;
    }
    if (until < blockStart + every) {
      const since = blockStart === 0 ? 'every' : `${formatDuration(every)} after the previous checkpoint (${formatDuration(blockStart)})`;
      out.push(
        error([...path, 'until'], `until must be at least ${since}: got until ${formatDuration(until)} with every ${formatDuration(every)}, so this block adds no checkpoint`),
      );
      blockStart = Math.max(blockStart, until);
      continue;
    }
    const lastOfBlock = blockStart + Math.floor((until - blockStart) / every) * every;
    if (lastOfBlock <= last) {
      out.push(error(path, `checkpoints must strictly increase: this block ends at ${formatDuration(lastOfBlock)}, not after the previous checkpoint (${formatDuration(last)})`));
    } else if (lastOfBlock !== until) {
      out.push(
        warning([...path, 'until'], `every ${formatDuration(every)} does not divide the span up to ${formatDuration(until)}: the block's last checkpoint is at ${formatDuration(lastOfBlock)}`),
      );
    }
    last = Math.max(last, lastOfBlock);
    blockStart = Math.max(blockStart, until);
  }
  return out;
}

function absoluteCheckpoints(items: Array<{ item: Item; path: PathSegment[] }>, notBefore: number | undefined, notBeforeName: string): PlanIssue[] {
  const out: PlanIssue[] = [];
  let last = -Infinity;
  for (const { item, path } of items) {
    const at = parseInstant(item as string)!;
    if (at <= last) out.push(error(path, `checkpoints must strictly increase: ${item as string} is not after the previous checkpoint (${isoTime(last)})`));
    else if (notBefore !== undefined && at <= notBefore) {
      out.push(error(path, `checkpoint ${item as string} must be after ${notBeforeName} (${isoTime(notBefore)})`));
    }
    last = Math.max(last, at);
  }
  return out;
}

function phaseCheckpoints(plan: Plan, phase: Phase, p: number): PlanIssue[] {
  const base: PathSegment[] = ['spec', 'phases', p, 'checkpoints'];
  const items = Array.isArray(phase.checkpoints)
    ? phase.checkpoints.map((item, j) => ({ item, path: [...base, j] }))
    : [{ item: phase.checkpoints, path: base }];
  const firstKind = kindOf(items[0]!.item);
  const absolute = firstKind === 'instant';
  const odd = items.find(({ item }) => (kindOf(item) === 'instant') !== absolute);
  if (odd) {
    const [a, b] = absolute ? ['instants', 'an offset'] : ['offsets', 'an instant'];
    return [error(odd.path, `do not mix offsets and instants in one checkpoint list: the list starts with ${a}, this is ${b}`)];
  }
  if (!absolute) return relativeCheckpoints(items);
  const bounds: Array<[number | undefined, string]> = [
    [phase.startAt, "the phase's startAt"],
    [plan.spec.startAt, 'spec.startAt'],
  ];
  const [notBefore, name] = bounds.reduce((a, b) => ((b[0] ?? -Infinity) > (a[0] ?? -Infinity) ? b : a));
  return absoluteCheckpoints(items, notBefore, name);
}

export function checkPhases(plan: Plan): PlanIssue[] {
  return plan.spec.phases.flatMap((phase, p) => phaseCheckpoints(plan, phase, p));
}
