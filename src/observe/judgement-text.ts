/**
 * One metric entry's judgement in words: the numbers each judge used (traffic floor, relative
 * bound, sequential test, Mann-Whitney) as one short line, `NAME VERDICT: numbers`. Every
 * surface that shows a judgement (the decision log line, `history`, `status`, `simulate`,
 * Events, webhook summaries) prints it from here. It prints numbers and the metric's name
 * only (never a query), never `NaN` or `undefined`:
 *
 *     error-rate nodata: 412 samples in the window, 500 needed
 *     p99 pass: 0.31 < bound 0.36 (baseline 0.3 x1.03, tolerance 20%, slack 0.005)
 *     errors-vs-stable fail: e 143 >= 100, canary 2.1% (41/1,950) vs baseline 1% (380/38,100), x2.10 [1.42, 3.05]
 *     latency-shift fail: shift +0.042 [0.031, 0.055] > floor 0.012, p 3e-9, points 38/40 (2 NaN dropped), level 0.995
 */
import type { MetricResult } from '../core/record.js';

/** The fields of a metric entry that carry a judge's numbers (docs/decision-record.md, "Judges"). */
export const JUDGE_FIELDS = [
  'test',
  'samples',
  'minSamples',
  'baseline',
  'bound',
  'ratio',
  'tolerance',
  'slack',
  'x',
  'n_c',
  'y',
  'n_b',
  'canaryRate',
  'baselineRate',
  'e',
  'logE',
  'eProof',
  'threshold',
  'alpha',
  'interval',
  'points',
  'dropped',
  'canaryMedian',
  'baselineMedian',
  'estimate',
  'u',
  'pValue',
  'level',
  'effectFloor',
] as const satisfies ReadonlyArray<keyof MetricResult>;

export type JudgeField = (typeof JUDGE_FIELDS)[number];

/** The judge's numbers of a metric entry (only those present), for structured log fields. */
export function judgeFields(m: MetricResult): Partial<Pick<MetricResult, JudgeField>> {
  const out: Record<string, unknown> = {};
  for (const key of JUDGE_FIELDS) if (m[key] !== undefined) out[key] = m[key];
  return out as Partial<Pick<MetricResult, JudgeField>>;
}

/** Whether a judge beyond the absolute thresholds (floor, baseline, a test) judged the entry. */
export function isJudged(m: MetricResult): boolean {
  return JUDGE_FIELDS.some((key) => m[key] !== undefined);
}

/** The judge of an entry, by the fields it carries. */
export type Judge = 'sequential' | 'mann-whitney' | 'relative' | 'floor' | 'threshold';

export function judgeOf(m: MetricResult): Judge {
  if (m.test) return m.test;
  if (m.baseline !== undefined || m.bound !== undefined) return 'relative';
  if (m.samples !== undefined || m.minSamples !== undefined) return 'floor';
  return 'threshold';
}

/** `NAME VERDICT: numbers`: the one line of a judged metric entry. */
export function formatJudgement(m: MetricResult): string {
  return `${m.name} ${m.verdict}: ${judgementDetail(m)}`;
}

function judgementDetail(m: MetricResult): string {
  switch (judgeOf(m)) {
    case 'sequential':
      return sequentialDetail(m);
    case 'mann-whitney':
      return mannWhitneyDetail(m);
    case 'relative':
      return relativeDetail(m);
    default:
      return floorDetail(m);
  }
}

// --- the judges -------------------------------------------------------------------------

/** `412 samples in the window, 500 needed` when the entry is below its traffic floor. */
function belowFloor(m: MetricResult, what: string): string | null {
  if (typeof m.samples !== 'number' || m.minSamples === undefined || !(m.samples < m.minSamples)) return null;
  // Rounded down, as the engine's reason: 499.6 samples are not 500.
  return `${count(Math.floor(m.samples))} ${what}, ${count(m.minSamples)} needed`;
}

/** What is said of an entry with no numbers to show: the floor, else the recorded reason. */
function missing(m: MetricResult, floor: string | null): string {
  return floor ?? m.reason ?? 'no data';
}

function floorDetail(m: MetricResult): string {
  const floor = belowFloor(m, 'samples in the window');
  if (floor || m.value === null || m.samples === null) return missing(m, floor);
  const parts = [`${valueAgainst(m)}${thresholdsText(m)}`];
  if (typeof m.samples === 'number') parts.push(`${count(m.samples)} samples${m.minSamples !== undefined ? ` (floor ${count(m.minSamples)})` : ''}`);
  return parts.join(', ');
}

function relativeDetail(m: MetricResult): string {
  const floor = belowFloor(m, 'samples in the window');
  const v = m.value;
  if (floor || v === null || m.samples === null || m.baseline === null || m.baseline === undefined) return missing(m, floor);
  const bound = m.bound;
  const [vText, boundText] = together([v, ...(bound !== undefined ? [bound] : []), ...thresholdsOf(m).map(([, t]) => t)]);
  const head = bound !== undefined ? `${vText} ${relation(v, bound)} bound ${boundText}` : vText!;
  const breaches = absoluteBreaches(m);
  const inner = [`baseline ${num(m.baseline)}${m.ratio !== null && m.ratio !== undefined ? ` x${ratioText(m.ratio)}` : ''}`];
  if (m.tolerance !== undefined) inner.push(`tolerance ${percent(m.tolerance)}`);
  if (m.slack !== undefined) inner.push(`slack ${asWritten(m.slack)}`);
  for (const [key, t] of thresholdsOf(m)) if (!breaks(v, key, t)) inner.push(`${key} ${asWritten(t)}`);
  if (typeof m.samples === 'number') inner.push(`${count(m.samples)} samples`);
  return `${[head, ...breaches].join(', ')} (${inner.join(', ')})`;
}

function sequentialDetail(m: MetricResult): string {
  const floor = belowFloor(m, 'canary requests in the phase');
  if (m.e === undefined || m.threshold === undefined) return missing(m, floor);
  const parts = [`e ${evidence(m.e, m.logE, m.threshold)}`];
  if (m.eProof !== undefined) parts.push(`proof e ${evidence(m.eProof, undefined, m.threshold)}`);
  if (m.x !== undefined && m.n_c !== undefined && m.y !== undefined && m.n_b !== undefined) {
    parts.push(`canary ${rate(m.canaryRate)} (${count(m.x)}/${count(m.n_c)}) vs baseline ${rate(m.baselineRate)} (${count(m.y)}/${count(m.n_b)})`);
  }
  if (m.ratio !== null && m.ratio !== undefined) parts.push(`x${ratioText(m.ratio)}${m.interval ? ` ${intervalText(m.interval, '0')}` : ''}`);
  if (m.tolerance) parts.push(`tolerance ${percent(m.tolerance)}`);
  return floor ? `${floor}; ${parts.join(', ')}` : parts.join(', ');
}

function mannWhitneyDetail(m: MetricResult): string {
  const points = m.points ? pointsText(m.points, m.dropped) : null;
  const floor =
    m.points && m.minSamples !== undefined && (m.points.canary < m.minSamples || m.points.baseline < m.minSamples)
      ? `points ${points}, ${count(m.minSamples)} needed per side`
      : null;
  if (m.estimate === null || m.estimate === undefined || floor) {
    const why = missing(m, floor);
    return points && !floor ? `${why}, points ${points}` : why;
  }
  const parts: string[] = [];
  let shift = `shift ${signed(m.estimate)}${m.interval ? ` ${intervalText(m.interval, '-∞')}` : ''}`;
  const f = m.effectFloor;
  if (f !== undefined) {
    const { lower, upper } = m.interval ?? { lower: null, upper: null };
    if (lower !== null && lower > f) shift += ` > floor ${num(f)}`;
    else if (upper !== null && upper < -f) shift += ` < floor ${num(-f)}`;
    else shift += `, floor ${num(f)}`;
  }
  parts.push(shift);
  if (m.pValue !== undefined) parts.push(`p ${sig(m.pValue, 2)}`);
  if (points) parts.push(`points ${points}`);
  if (m.level !== undefined) parts.push(`level ${levelText(m.level)}`);
  return parts.join(', ');
}

// --- pieces -----------------------------------------------------------------------------

type ThresholdKey = 'min' | 'max' | 'rollbackBelow' | 'rollbackAbove';
const THRESHOLDS: readonly ThresholdKey[] = ['min', 'max', 'rollbackBelow', 'rollbackAbove'];

function thresholdsOf(m: MetricResult): Array<[ThresholdKey, number]> {
  return THRESHOLDS.flatMap((key) => (m[key] !== undefined ? [[key, m[key]] as [ThresholdKey, number]] : []));
}

/** ` (max 0.005, rollbackAbove 0.02)`, or '' without absolute thresholds. */
function thresholdsText(m: MetricResult): string {
  const t = thresholdsOf(m);
  return t.length ? ` (${t.map(([key, v]) => `${key} ${asWritten(v)}`).join(', ')})` : '';
}

/** The value, precise enough not to look equal to any threshold it differs from. */
function valueAgainst(m: MetricResult): string {
  return together([m.value!, ...thresholdsOf(m).map(([, t]) => t)])[0]!;
}

/** `> max 0.5` for each absolute threshold the value breaks (thresholds and slack as the plan wrote them). */
function absoluteBreaches(m: MetricResult): string[] {
  const v = m.value!;
  const out: string[] = [];
  for (const [key, t] of thresholdsOf(m)) if (breaks(v, key, t)) out.push(`${isUpper(key) ? '>' : '<'} ${key} ${asWritten(t)}`);
  return out;
}

function isUpper(key: ThresholdKey): boolean {
  return key === 'max' || key === 'rollbackAbove';
}

function breaks(v: number, key: ThresholdKey, t: number): boolean {
  return isUpper(key) ? v > t : v < t;
}

function relation(a: number, b: number): string {
  return a > b ? '>' : a < b ? '<' : '=';
}

/** `143 >= 100` or `3.2 < 100`: an e-value against its threshold. */
function evidence(e: number, logE: number | undefined, threshold: number): string {
  const [eText, tText] = together([e, threshold]);
  const shown = e >= Number.MAX_VALUE && logE !== undefined && Number.isFinite(logE) ? fromLog(logE) : eText;
  return `${shown} ${e >= threshold ? '>=' : '<'} ${tText}`;
}

/** A huge e-value from its natural log: `1.2e+400` (beyond what a double holds). */
function fromLog(logE: number): string {
  const log10 = logE / Math.LN10;
  let exp = Math.floor(log10);
  let mantissa = Number((10 ** (log10 - exp)).toPrecision(DIGITS));
  if (mantissa >= 10) {
    mantissa = 1;
    exp += 1;
  }
  return `${mantissa}e+${exp}`;
}

function pointsText(points: { canary: number; baseline: number }, dropped: { canary: number; baseline: number } | undefined): string {
  const lost = dropped ? dropped.canary + dropped.baseline : 0;
  return `${count(points.canary)}/${count(points.baseline)}${lost > 0 ? ` (${count(lost)} NaN dropped)` : ''}`;
}

/** `[1.42, 3.05]`; an unbounded side (null) is `unbounded`. */
function intervalText(i: { lower: number | null; upper: number | null }, unboundedLower: string): string {
  const known = [i.lower, i.upper].filter((v): v is number => v !== null);
  const texts = together(known);
  const lower = i.lower === null ? unboundedLower : texts.shift()!;
  const upper = i.upper === null ? '∞' : texts.shift()!;
  return `[${lower}, ${upper}]`;
}

/** A confidence level with enough digits to tell it from 1: 0.995, 0.9967, 0.99998. */
function levelText(level: number): string {
  if (!Number.isFinite(level)) return num(level);
  const miss = 1 - level;
  const digits = miss > 0 ? Math.min(15, Math.max(3, Math.ceil(-Math.log10(miss)) + 1)) : 3;
  return String(Number(level.toFixed(digits)));
}

// --- numbers ----------------------------------------------------------------------------

/** Significant digits: 3 unless two different numbers shown together would look equal. */
const DIGITS = 3;

/** A number with 3 significant digits; exponent form when very large or small; never NaN. */
export function num(v: number): string {
  return sig(v, DIGITS);
}

/**
 * Numbers shown side by side (a value and its bound): each with 3 significant digits, or more
 * where rounding would make two different ones look equal (0.3604 vs 0.3601).
 */
function together(values: number[]): string[] {
  for (let p = DIGITS; p < 17; p++) {
    const texts = values.map((v) => sig(v, p));
    const clash = values.some((a, i) => values.some((b, j) => j > i && a !== b && texts[i] === texts[j]));
    if (!clash) return texts;
  }
  return values.map((v) => sig(v, 17));
}

function sig(v: number, digits: number): string {
  if (Number.isNaN(v)) return 'n/a';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '-∞';
  if (v === 0) return '0';
  const abs = Math.abs(v);
  if (abs >= 1e6 || abs < 1e-4) return trimExponent(v.toExponential(digits - 1));
  return String(Number(v.toPrecision(digits)));
}

/** `3.00e-9` → `3e-9`, `1.20e+45` → `1.2e+45`. */
function trimExponent(text: string): string {
  return text.replace(/\.?0+e/, 'e');
}

/** A number of the plan (a threshold, a slack) as it was written. */
function asWritten(v: number): string {
  return Number.isFinite(v) ? String(v) : num(v);
}

/** `+0.042`, `-0.013`. */
function signed(v: number): string {
  const text = num(v);
  return v > 0 ? `+${text}` : text;
}

/** A count with thousands separators: `38,100`. */
function count(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : num(n);
}

/** A rate as a percentage: `2.1%`, `0.0123%`; `n/a` without one (no traffic). */
function rate(r: number | null | undefined): string {
  return r === null || r === undefined ? 'n/a' : `${num(r * 100)}%`;
}

/** A fraction as a percentage: 0.2 → `20%`. */
function percent(f: number): string {
  return `${num(f * 100)}%`;
}

/** A ratio with 3 significant digits kept (`2.10`, `1.03`). */
function ratioText(r: number): string {
  if (!Number.isFinite(r) || Math.abs(r) >= 1000 || (r !== 0 && Math.abs(r) < 1e-4)) return num(r);
  return r.toPrecision(DIGITS);
}
