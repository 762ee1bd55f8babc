/**
 * `rollgate status` in text: a banner when no controller acts on the rollouts, one table line
 * per rollout (what it waits for, what is next and how soon or how overdue, the last decision
 * and how long ago), then a block per rollout with the rest: the next action's time in the
 * plan's time zone next to UTC, each metric of the last judgement against its thresholds (with
 * the judge's numbers where a judge beyond the thresholds judged it), the guard's strikes, a
 * plan edit that was not applied, and who writes the status (cluster mode).
 *
 * Blocks: for every rollout when there are at most DETAIL_LIMIT, else only for those with
 * something wrong (a plan edit not applied, overdue, guard strikes, no live leader). With a
 * width (a terminal), every line is cut to it with an ellipsis, never wrapped.
 */
import { formatMetric } from '../observe/decision-text.js';
import { formatInstant, formatRelative, formatSpan } from '../support/human-time.js';
import type { StatusSummary } from './status-summary.js';

/** Rollouts shown with a detail block each; beyond it only those with something wrong. */
const DETAIL_LIMIT = 20;

export interface StatusTextOptions {
  now: number;
  /** A first line (a WARNING or NOTE about the controller). */
  banner?: string;
  /** What to print when there is no rollout. */
  none: string;
  /** Cut each line to this many columns (a terminal's); null: no limit. */
  width?: number | null;
}

/** A line cut to `width` columns with an ellipsis; unchanged when it fits. */
export function fitLine(line: string, width: number | null | undefined): string {
  if (!width || width < 1) return line;
  const chars = [...line];
  if (chars.length <= width) return line;
  return `${chars.slice(0, width - 1).join('')}…`;
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  '));
}

function split(s: StatusSummary): string {
  if (s.weight === null) return '-';
  return `${s.weight}%${s.mirror ? ` +${s.mirror}% mirror` : ''}`;
}

/** `in 4m10s`, `due 3 s ago` (within the overdue margin), `12 s overdue` (past it). */
function dueIn(s: StatusSummary, now: number): string {
  const n = s.nextAction!;
  const at = Date.parse(n.at);
  if (at > now) return formatRelative(at, now);
  return s.overdue ? `${formatSpan(now - at)} OVERDUE` : `due ${formatRelative(at, now)}`;
}

/** The NEXT column: what the rollout waits for, or what comes next and when. */
export function nextCell(s: StatusSummary, now: number): string {
  if (s.status === null) return '-';
  if (s.status === 'complete' || s.status === 'rolled-back') return '-';
  if (s.status === 'paused') return s.waiting ? `paused (${s.waiting.text}); a person: resume, promote, abort` : 'paused: a person (resume, promote, abort)';
  if (s.waiting) {
    if (s.waiting.for === 'approval' || !s.nextAction) return s.waiting.text;
    return `${s.waiting.text}, ${dueIn(s, now)}`;
  }
  if (s.nextAction) return `${s.nextAction.what} ${dueIn(s, now)}`;
  return s.next;
}

/** The LAST DECISION column: `#17 continue 3m ago: reason`. */
function lastCell(s: StatusSummary, now: number): string {
  const l = s.lastDecision;
  if (!l) return '-';
  const when = l.at ? ` ${formatRelative(Date.parse(l.at), now)}` : '';
  return `#${l.seq} ${l.decision}${when}${l.reason !== null ? `: ${l.reason}` : ''}`;
}

const label = (name: string) => `  ${name.padEnd(10)} `;

/** `NOT APPLIED (plan.yaml:12:7: ...); running revision r2 (sha256:abcd1234abcd)` */
function planEditText(s: StatusSummary): string | null {
  const e = s.planEdit;
  if (!e) return null;
  const why = e.errors.length > 0 ? ` (${e.errors.join('; ')})` : e.generation !== undefined ? ` (generation ${e.generation} not applied; the controller runs generation ${e.observedGeneration ?? '?'})` : '';
  const hash = e.runningPlanHash ? ` (${e.runningPlanHash.slice(0, 19)})` : '';
  return `NOT APPLIED${why}; running revision ${e.runningRevision}${hash}`;
}

function troubled(s: StatusSummary): boolean {
  return Boolean(s.planEdit || s.overdue || (s.guard && s.guard.strikes > 0) || s.leader?.state === 'none');
}

/** The detail lines of one rollout (empty when there is nothing beyond the table line). */
function detailLines(s: StatusSummary, now: number): string[] {
  const out: string[] = [];
  const tz = s.timeZone;
  if (s.leader && s.leader.state !== 'live') out.push(`${label('leader')}${s.leader.state === 'none' ? 'NONE: ' : ''}${s.leader.detail}`);
  const edit = planEditText(s);
  if (edit) out.push(`${label('plan edit')}${edit}`);
  if (s.waiting) {
    const until = s.waiting.until ? `; may begin ${formatRelative(Date.parse(s.waiting.until), now)}, at ${formatInstant(Date.parse(s.waiting.until), tz)}` : '';
    out.push(`${label('waiting')}${s.waiting.text.replace(/^waiting /, '')}${s.waiting.reason ? ` (${s.waiting.reason})` : ''}${until}`);
  }
  if (s.nextAction && !(s.waiting && s.waiting.until)) {
    out.push(`${label('next')}${s.nextAction.what} ${dueIn(s, now)}, at ${formatInstant(Date.parse(s.nextAction.at), tz)}`);
  }
  if (s.guard) out.push(`${label('guard')}${s.guard.strikes} of ${s.guard.consecutive} strikes (a rollback at ${s.guard.consecutive} failing evaluations in a row, every ${s.guard.interval})`);
  const j = s.lastJudgement;
  if (j) {
    out.push(`${label('judged')}#${j.seq} ${j.where} ${formatRelative(Date.parse(j.at), now)} (${formatInstant(Date.parse(j.at), tz)}):`);
    for (const m of j.metrics) out.push(`    ${formatMetric(m)}`);
  }
  return out;
}

/** The whole text of `status`. */
export function formatStatusText(summaries: StatusSummary[], o: StatusTextOptions): string[] {
  const lines: string[] = [];
  if (o.banner) lines.push(o.banner);
  if (summaries.length === 0) {
    lines.push(o.none);
    return lines.map((l) => fitLine(l, o.width));
  }
  const rows = [['ROLLOUT', 'REVISION', 'STATUS', 'PHASE', 'SPLIT', 'NEXT', 'LAST DECISION']];
  for (const s of summaries) rows.push([s.rollout, s.revision, s.status ?? s.note ?? '-', s.phase || '-', split(s), nextCell(s, o.now), lastCell(s, o.now)]);
  lines.push(...table(rows));
  const all = summaries.length <= DETAIL_LIMIT;
  let hidden = 0;
  for (const s of summaries) {
    if (!all && !troubled(s)) {
      hidden++;
      continue;
    }
    const detail = detailLines(s, o.now);
    if (detail.length === 0) continue;
    lines.push('', s.rollout, ...detail);
  }
  if (hidden > 0) lines.push('', `(${hidden} rollouts without problems not detailed: rollgate status NAME)`);
  return lines.map((l) => fitLine(l, o.width));
}
