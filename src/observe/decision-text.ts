/**
 * Decision records in words: the phrases shared by the decision log line, the terminal
 * output of `simulate --output text` / `status`, and webhook summaries.
 */
import type { DecisionRecord, MetricResult } from '../core/record.js';
import { formatJudgement, isJudged } from './judgement-text.js';
import { formatInstant, formatSpan } from '../support/human-time.js';

type Split = DecisionRecord['weight'];

/** The threshold fields of a metric result, in the order they are printed. */
export const THRESHOLD_KEYS = ['min', 'max', 'rollbackBelow', 'rollbackAbove'] as const;
export type ThresholdKey = (typeof THRESHOLD_KEYS)[number];

/**
 * A measured value, short but never misleading: 6 significant digits, unless rounding would
 * make it look equal to one of its thresholds while it is not.
 */
export function formatValue(value: number | null, thresholds: readonly number[] = []): string {
  if (value === null) return 'nodata';
  if (Number.isInteger(value) || !Number.isFinite(value)) return String(value);
  const short = Number(value.toPrecision(6));
  return thresholds.some((t) => t === short && t !== value) ? String(value) : String(short);
}

function thresholdsOf(m: MetricResult): Array<[ThresholdKey, number]> {
  const out: Array<[ThresholdKey, number]> = [];
  for (const key of THRESHOLD_KEYS) {
    const t = m[key];
    if (t !== undefined) out.push([key, t]);
  }
  return out;
}

/**
 * `error-rate=0.0012 (max 0.005) pass`, `p99=nodata (empty result) nodata`; an entry judged
 * by a floor, a baseline or a test shows that judge's numbers (judgement-text.ts):
 * `errors-vs-stable fail: e 143 >= 100, ...`.
 */
export function formatMetric(m: MetricResult): string {
  if (isJudged(m)) return formatJudgement(m);
  const limits = thresholdsOf(m);
  const value = formatValue(m.value, limits.map(([, t]) => t));
  const parts = limits.map(([key, t]) => `${key} ${t}`);
  if (m.value === null && m.reason) parts.push(m.reason);
  const detail = parts.length > 0 ? ` (${parts.join(', ')})` : '';
  return `${m.name}=${value}${detail} ${m.verdict}`;
}

/**
 * The threshold a failing metric broke, as `error-rate=0.012 > 0.005`; rollback thresholds
 * first since they are the stronger statement. Null when no threshold explains the verdict.
 * An entry judged by a floor, a baseline or a test is explained by that judge's numbers.
 */
export function formatBreach(m: MetricResult): string | null {
  if (isJudged(m)) return formatJudgement(m);
  const v = m.value;
  if (v === null) return `${m.name}=nodata${m.reason ? ` (${m.reason})` : ''}`;
  const fmt = (t: number) => formatValue(v, [t]);
  if (m.rollbackAbove !== undefined && v > m.rollbackAbove) return `${m.name}=${fmt(m.rollbackAbove)} > ${m.rollbackAbove}`;
  if (m.rollbackBelow !== undefined && v < m.rollbackBelow) return `${m.name}=${fmt(m.rollbackBelow)} < ${m.rollbackBelow}`;
  if (m.max !== undefined && v > m.max) return `${m.name}=${fmt(m.max)} > ${m.max}`;
  if (m.min !== undefined && v < m.min) return `${m.name}=${fmt(m.min)} < ${m.min}`;
  return null;
}

/** Where in the rollout a decision was taken: `checkpoint 2/6 of ramp`, `guard at ramp`. */
export function formatWhere(r: DecisionRecord): string {
  const phase = r.phase ?? '-';
  if (r.checkpoint) return `checkpoint ${r.checkpoint.index}/${r.checkpoint.of} of ${phase}`;
  return `${r.kind} at ${phase}`;
}

/** `10→25`, or `10` when unchanged. */
export function formatSplit(s: Split): string {
  return s.from === s.to ? `${s.to}` : `${s.from}→${s.to}`;
}

/** `weight 10→25, mirror 5→0`; mirror only when it is or was in use. */
export function formatTraffic(r: DecisionRecord): string {
  const weight = `weight ${formatSplit(r.weight)}`;
  return r.mirror.from === 0 && r.mirror.to === 0 ? weight : `${weight}, mirror ${formatSplit(r.mirror)}`;
}

/** The metrics of a record joined for one line, or '' when it has none. */
export function formatMetrics(r: DecisionRecord): string {
  return (r.metrics ?? []).map(formatMetric).join(', ');
}

/** The metrics that explain a rollback, hold or pause: breaches first, then other non-passes. */
export function formatCulprits(r: DecisionRecord): string {
  const failing = (r.metrics ?? []).filter((m) => m.verdict !== 'pass');
  return failing.map((m) => formatBreach(m) ?? `${m.name}=${formatValue(m.value)} ${m.verdict}`).join(', ');
}

/**
 * The decision log's message: `checkpoint 2/6 of ramp: continue (3/3 metrics pass)
 * error-rate=0.0012 (max 0.005) pass, ...; weight 10, score 100`. `metrics`: the metrics part
 * when a shorter one is needed (an Event message).
 */
export function formatDecisionLine(r: DecisionRecord, metrics: string = formatMetrics(r)): string {
  const tail = [formatTraffic(r)];
  if (r.score !== undefined && r.score !== null) tail.push(`score ${r.score}${r.outcome ? ` ${r.outcome}` : ''}`);
  if (r.waitingFor) tail.push(`waiting for ${r.waitingFor}`);
  if (r.actor !== 'controller') tail.push(`by ${r.actor}`);
  const reason = r.reason ? ` (${r.reason})` : '';
  return `${formatWhere(r)}: ${r.decision}${reason}${metrics ? ` ${metrics}` : ''}; ${tail.join(', ')}`;
}

/**
 * A decision for the terminal (`history`, `simulate --output text`): a headline, and a second
 * indented line with the metrics when there are any. A checkpoint judged a second or more
 * after its due time says how late (`judged 48 s late`: the controller was down or slow).
 *
 *     2025-11-01T15:00:00.412Z learning/analyzer #17 checkpoint 2/6 of ramp: continue — 3/3 metrics pass; weight 10, score 100, next checkpoint 3/6 of ramp at 2025-11-01T16:00Z
 *       error-rate=0.0012 (max 0.005) pass, latency-p99=0.21 (max 0.3) pass
 *
 * `timeZone`: the plan's (its deployment windows'; null or absent for UTC). With one, the
 * record's time and the next action's are shown as `status` shows times (human-time.ts
 * formatInstant): the wall clock there, then UTC, `2025-11-01 16:00 Europe/Berlin (15:00Z)`;
 * without, the record's time is its RFC 3339 `at` as journalled.
 */
export function formatDecisionText(r: DecisionRecord, timeZone?: string | null): string {
  const tail = [formatTraffic(r)];
  if (r.score !== undefined && r.score !== null) tail.push(`score ${r.score}${r.outcome ? ` ${r.outcome}` : ''}`);
  if (r.actor !== 'controller') tail.push(`by ${r.actor}`);
  const late = r.checkpoint?.lateSeconds ?? 0;
  if (late >= 1) tail.push(`judged ${formatSpan(late * 1000)} late`);
  if (r.next) tail.push(`next ${r.next.what} at ${formatInstant(Date.parse(r.next.at), timeZone)}`);
  const reason = r.reason ? ` — ${r.reason}` : '';
  const at = timeZone ? formatInstant(Date.parse(r.at), timeZone) : r.at;
  const head = `${at} ${r.rollout} #${r.seq} ${formatWhere(r)}: ${r.decision}${reason}; ${tail.join(', ')}`;
  const metrics = formatMetrics(r);
  return metrics ? `${head}\n  ${metrics}` : head;
}
