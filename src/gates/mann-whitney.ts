/**
 * The Mann-Whitney judge (analysis.md section 4, `test: mann-whitney`): is the canary's
 * distribution shifted, in the worse direction, by more than the effect floor?
 *
 * Input: the points of two range-queried series (canary and baseline) over one checkpoint's
 * window. Null, NaN and infinite points are dropped and counted per side (`dropped`); fewer
 * than `minSamples` points on either side is `nodata`.
 *
 * - The U statistic is the canary's: U_c = R_c - n_c (n_c + 1) / 2, R_c the sum of the
 *   canary's mid-ranks in the pooled sample (U_c near n_c n_b / 2: no shift; larger: the canary
 *   is higher). Its variance carries the tie correction,
 *   n_c n_b / 12 * ((N + 1) - sum(t^3 - t) / (N (N - 1))), t the sizes of the tie groups; the
 *   two-sided p-value comes from the normal approximation with continuity correction (as R's
 *   `wilcox.test(canary, baseline, exact = FALSE, correct = TRUE)`). All points tied: p = 1.
 *   When both sides have fewer than 20 points and no value repeats, the p-value and the
 *   interval below come from U's exact null distribution instead (`exactUCounts`; as R's
 *   `exact = TRUE`). It stops at 20 per side because its table grows as (n_c n_b)^2: with one
 *   side in the thousands it would cost more than the whole judgement.
 * - The Hodges-Lehmann estimate of the shift is the median of the n_c n_b pairwise
 *   differences canary - baseline; its confidence interval at `level` is the usual
 *   Mann-Whitney (Moses) interval of Hollander & Wolfe: the order statistics d_(k) and
 *   d_(n_c n_b + 1 - k) of the differences with k = floor(n_c n_b / 2 - z_{(1+level)/2} sd(U)),
 *   sd(U) the tie-corrected standard deviation above (without ties it is
 *   sqrt(n_c n_b (n_c + n_b + 1) / 12); with ties this matches SAS PROC NPAR1WAY's asymptotic
 *   Moses limits); with the exact distribution, k is the largest with P(U <= k - 1) <=
 *   (1 - level) / 2. k < 1: the interval is unbounded ({lower: null, upper: null}).
 * - Verdict, `worse: higher`: `fail` when the interval's lower bound is above the effect floor
 *   tolerance x |median(baseline)|; `worse: lower`: when its upper bound is below -floor;
 *   otherwise `pass`. A shift that is significant but within the floor passes, and `why` says
 *   so. A baseline median of 0 makes the floor 0: any significant worse shift fails.
 *
 * `level` is the per-checkpoint confidence the engine computed, 1 - (1 - confidence) / K for a
 * phase of K checkpoints (Bonferroni), so the phase as a whole keeps `confidence`.
 *
 * The peer is Kayenta's NetflixACAJudge, whose Mann-Whitney metric classifier also compares the
 * canary's and the baseline's series with a Hodges-Lehmann interval: it flags the metric when
 * the interval (at 95%) clears a fraction (25%) of |estimate| itself, judges any non-empty
 * series, and reports only the class and the ratio of the means. What this judge does
 * differently: the effect floor is relative to the baseline's median, so "10% slower than
 * stable" means what it says and a tiny but significant shift passes; the checkpoints of a
 * phase share the confidence (Bonferroni, done by the engine) instead of each spending all of
 * it; too few points is `nodata`, and dropped points are counted; and every statistic
 * (points, dropped, medians, estimate, interval, U, p-value, level, floor) goes into the
 * decision record and the reason.
 *
 * Memory stays O(n_c + n_b) whatever the input: the k-th pairwise difference is selected
 * without materializing the n_c n_b differences (a randomized selection over the implicit
 * sorted matrix, see `kthPairwiseDifference`). A range query returns at most 11,000 points per
 * side, so n_c n_b <= 1.21e8, well within exact integer arithmetic in doubles.
 * Measured (`node bench/mann-whitney.bench.mjs --runs 40`, after warm-up, on 2 cores shared
 * with other work at load average 20): one judgement of 2 x 1,000 points takes a median 1.6 ms
 * of CPU (3.4 ms wall), of 2 x 11,000 points 12 ms of CPU (41 ms wall, p90 61 ms).
 */
import normalCdf from '@stdlib/stats-base-dists-normal-cdf';
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';
import type { Verdict } from '../core/record.js';

export interface MannWhitneySettings {
  worse: 'higher' | 'lower';
  /** The confidence of this checkpoint's interval (the engine's Bonferroni share). */
  level: number;
  /** Effect floor as a fraction of |median(baseline)| (0.1 = 10%). */
  tolerance: number;
  /** Points needed on each side after dropping. */
  minSamples: number;
}

/** An interval; null = unbounded on that side. */
export interface ShiftInterval {
  lower: number | null;
  upper: number | null;
}

export interface MannWhitneyJudgement {
  verdict: Verdict;
  why: string;
  points: { canary: number; baseline: number };
  dropped: { canary: number; baseline: number };
  canaryMedian: number | null;
  baselineMedian: number | null;
  /** Hodges-Lehmann estimate of the shift canary - baseline; null when not judged. */
  estimate: number | null;
  /** The shift's interval at `level`; null when not judged. */
  interval: ShiftInterval | null;
  /** U of the canary, U_c = R_c - n_c (n_c + 1) / 2. */
  u?: number;
  /** Two-sided p-value (normal approximation, continuity and tie corrected; exact for small samples without ties). */
  pValue?: number;
  level: number;
  effectFloor?: number;
}

export interface MannWhitneyU {
  /** U of the canary (the first sample). */
  u: number;
  /** n_c n_b / 2, U's mean under no shift. */
  mean: number;
  /** U's standard deviation under no shift, tie corrected. */
  sd: number;
  /** (U - mean -+ 0.5) / sd, continuity corrected; 0 when every point is tied. */
  z: number;
  /** Two-sided p-value: exact when `exact`, else from z. */
  pValue: number;
  /** The p-value comes from U's exact null distribution (both sides under 20 points, no ties). */
  exact: boolean;
  /** sum(t^3 - t) over the tie groups of the pooled sample. */
  tieCorrection: number;
}

export interface HodgesLehmann {
  estimate: number;
  lower: number | null;
  upper: number | null;
}

/** Judges one checkpoint's canary series against the baseline's (the seam the engine calls). */
export function mannWhitneyJudgement(
  canary: readonly (number | null)[],
  baseline: readonly (number | null)[],
  s: MannWhitneySettings,
): MannWhitneyJudgement {
  const c = finiteSorted(canary);
  const b = finiteSorted(baseline);
  const points = { canary: c.length, baseline: b.length };
  const dropped = { canary: canary.length - c.length, baseline: baseline.length - b.length };
  const canaryMedian = c.length > 0 ? sortedMedian(c) : null;
  const baselineMedian = b.length > 0 ? sortedMedian(b) : null;
  const needed = Math.max(1, s.minSamples);
  if (c.length < needed || b.length < needed) {
    return {
      verdict: 'nodata',
      why: tooFewPoints(points, dropped, needed),
      points,
      dropped,
      canaryMedian,
      baselineMedian,
      estimate: null,
      interval: null,
      level: s.level,
    };
  }
  const test = uTest(c, b);
  const hl = shiftEstimate(c, b, test, s.level);
  const effectFloor = s.tolerance * Math.abs(baselineMedian as number);
  const interval = { lower: hl.lower, upper: hl.upper };
  const fails =
    s.worse === 'higher'
      ? interval.lower !== null && interval.lower > effectFloor
      : interval.upper !== null && interval.upper < -effectFloor;
  const verdict: Verdict = fails ? 'fail' : 'pass';
  const why = explainShift(verdict, s, {
    estimate: hl.estimate,
    interval,
    effectFloor,
    baselineMedian: baselineMedian as number,
    pValue: test.pValue,
    exact: test.exact,
    points,
    dropped,
  });
  return {
    verdict,
    why,
    points,
    dropped,
    canaryMedian,
    baselineMedian,
    estimate: hl.estimate,
    interval,
    u: test.u,
    pValue: test.pValue,
    level: s.level,
    effectFloor,
  };
}

/** The Mann-Whitney U test of `canary` against `baseline` (finite points only). */
export function mannWhitneyU(canary: readonly number[], baseline: readonly number[]): MannWhitneyU {
  return uTest(sortedCopy(canary), sortedCopy(baseline));
}

/** The Hodges-Lehmann shift canary - baseline and its Moses interval at `level` (finite points, at least one per side). */
export function hodgesLehmann(canary: readonly number[], baseline: readonly number[], level: number): HodgesLehmann {
  const c = sortedCopy(canary);
  const b = sortedCopy(baseline);
  return shiftEstimate(c, b, uTest(c, b), level);
}

/** The median of `values` (null when empty). */
export function median(values: readonly number[]): number | null {
  return values.length === 0 ? null : sortedMedian(sortedCopy(values));
}

/**
 * The k-th smallest (1-based) of the n m differences c_i - b_j, for ascending `c` and `b`,
 * in O(n + m) memory.
 *
 * The differences form an implicit n x m matrix whose rows (i) and columns (j, taken over b
 * descending) are sorted. Each round picks a random difference among those still in play (per
 * row a range of columns), counts, with one two-pointer pass, the differences below it and
 * equal to it, and either returns it or drops every difference on its wrong side, like
 * quickselect: about 2 ln(nm) rounds of O(n + m) each. The answer is always an actual
 * difference as computed in floating point (the same subtraction the counts compare). The
 * random picks come from a fixed-seed generator, so the function is deterministic.
 */
export function kthPairwiseDifference(c: Float64Array, b: Float64Array, k: number): number {
  const n = c.length;
  const m = b.length;
  if (!(k >= 1 && k <= n * m)) throw new RangeError(`k ${k} outside 1..${n * m}`);
  // Row i, column t holds c[i] - b[m - 1 - t]: non-decreasing along t and along i.
  const at = (i: number, t: number) => (c[i] as number) - (b[m - 1 - t] as number);
  const lo = new Int32Array(n); // columns < lo[i]: at or below a pivot known to be below the answer
  const hi = new Int32Array(n).fill(m); // columns >= hi[i]: at or above a pivot known to be above it
  const below = new Int32Array(n);
  const upTo = new Int32Array(n);
  const random = seededRandom(0x9e3779b9);
  for (;;) {
    let inPlay = 0;
    for (let i = 0; i < n; i++) inPlay += (hi[i] as number) - (lo[i] as number);
    let r = Math.floor(random() * inPlay);
    let row = 0;
    while (r >= (hi[row] as number) - (lo[row] as number)) {
      r -= (hi[row] as number) - (lo[row] as number);
      row++;
    }
    const pivot = at(row, (lo[row] as number) + r);
    // below[i] = #{t : at(i, t) < pivot}, upTo[i] = #{t : at(i, t) <= pivot}; both shrink as i grows.
    let belowTotal = 0;
    let upToTotal = 0;
    let tLess = 0;
    let tLessEq = 0;
    for (let i = n - 1; i >= 0; i--) {
      while (tLess < m && at(i, tLess) < pivot) tLess++;
      while (tLessEq < m && at(i, tLessEq) <= pivot) tLessEq++;
      below[i] = tLess;
      upTo[i] = tLessEq;
      belowTotal += tLess;
      upToTotal += tLessEq;
    }
    if (k <= belowTotal) {
      for (let i = 0; i < n; i++) hi[i] = Math.min(hi[i] as number, below[i] as number);
    } else if (k <= upToTotal) {
      return pivot;
    } else {
      for (let i = 0; i < n; i++) lo[i] = Math.max(lo[i] as number, upTo[i] as number);
    }
  }
}

function uTest(c: Float64Array, b: Float64Array): MannWhitneyU {
  const n = c.length;
  const m = b.length;
  const total = n + m;
  // Merge the two sorted samples; each tie group of size t starting after rank r gets the
  // mid-rank r + (t + 1) / 2.
  let i = 0;
  let j = 0;
  let rank = 0;
  let canaryRanks = 0;
  let tieCorrection = 0;
  while (i < n || j < m) {
    const v = j >= m || (i < n && (c[i] as number) <= (b[j] as number)) ? (c[i] as number) : (b[j] as number);
    let fromCanary = 0;
    let fromBaseline = 0;
    while (i < n && c[i] === v) {
      i++;
      fromCanary++;
    }
    while (j < m && b[j] === v) {
      j++;
      fromBaseline++;
    }
    const t = fromCanary + fromBaseline;
    canaryRanks += fromCanary * (rank + (t + 1) / 2);
    tieCorrection += t * t * t - t;
    rank += t;
  }
  const u = canaryRanks - (n * (n + 1)) / 2;
  const mean = (n * m) / 2;
  const variance = total > 1 ? ((n * m) / 12) * (total + 1 - tieCorrection / (total * (total - 1))) : 0;
  const sd = Math.sqrt(Math.max(0, variance));
  if (!(sd > 0)) return { u, mean, sd: 0, z: 0, pValue: 1, exact: false, tieCorrection };
  const distance = u - mean;
  const z = (distance - 0.5 * Math.sign(distance)) / sd;
  if (tieCorrection === 0 && n < EXACT_BELOW && m < EXACT_BELOW) {
    const counts = exactUCounts(n, m);
    const all = counts.reduce((sum, c) => sum + c, 0);
    let atOrBelow = 0;
    for (let v = 0; v <= u; v++) atOrBelow += counts[v] as number;
    let atOrAbove = 0;
    for (let v = u; v <= n * m; v++) atOrAbove += counts[v] as number;
    return { u, mean, sd, z, pValue: Math.min(1, (2 * Math.min(atOrBelow, atOrAbove)) / all), exact: true, tieCorrection };
  }
  const pValue = Math.min(1, 2 * normalCdf(-Math.abs(z), 0, 1));
  return { u, mean, sd, z, pValue, exact: false, tieCorrection };
}

/** Below this many points on both sides (and without ties) U's exact distribution is used. */
const EXACT_BELOW = 20;

/**
 * U's exact null distribution for n and m distinct points: counts[u] is the number of the
 * C(n + m, n) equally likely orderings in which U = u. Built by the largest point: a canary
 * point beats all m baseline points (f(n, m, u) = f(n - 1, m, u - m) + f(n, m - 1, u)). The
 * counts are integers below 2^53 for n, m <= 20 (C(40, 20) ~ 1.4e11), so exact in doubles.
 */
export function exactUCounts(n: number, m: number): Float64Array {
  // byBaseline[j] = the counts for (i, j) of the row being built; previous[j] those for (i - 1, j).
  let previous: Float64Array[] = Array.from({ length: m + 1 }, () => Float64Array.of(1));
  for (let i = 1; i <= n; i++) {
    const byBaseline: Float64Array[] = [Float64Array.of(1)];
    for (let j = 1; j <= m; j++) {
      const f = new Float64Array(i * j + 1);
      const canaryLargest = previous[j] as Float64Array;
      for (let v = 0; v < canaryLargest.length; v++) f[v + j] = (f[v + j] as number) + (canaryLargest[v] as number);
      const baselineLargest = byBaseline[j - 1] as Float64Array;
      for (let v = 0; v < baselineLargest.length; v++) f[v] = (f[v] as number) + (baselineLargest[v] as number);
      byBaseline.push(f);
    }
    previous = byBaseline;
  }
  return previous[m] as Float64Array;
}

/**
 * The rank k of the interval's lower bound d_(k) at `level` (the upper is d_(nm + 1 - k)):
 * exact, the largest k with P(U <= k - 1) <= (1 - level) / 2; else
 * floor(nm / 2 - z_{(1+level)/2} sd(U)). NaN for a level outside (0, 1).
 */
function intervalRank(n: number, m: number, test: MannWhitneyU, level: number): number {
  if (!(level > 0 && level < 1)) return Number.NaN;
  if (!test.exact) return Math.floor((n * m) / 2 - normalQuantile((1 + level) / 2, 0, 1) * test.sd);
  const counts = exactUCounts(n, m);
  const all = counts.reduce((sum, c) => sum + c, 0);
  let below = 0;
  let k = 0;
  while (k < counts.length && (below + (counts[k] as number)) / all <= (1 - level) / 2) below += counts[k++] as number;
  return k;
}

function shiftEstimate(c: Float64Array, b: Float64Array, test: MannWhitneyU, level: number): HodgesLehmann {
  const nm = c.length * b.length;
  const half = Math.floor(nm / 2);
  const estimate =
    nm % 2 === 1
      ? kthPairwiseDifference(c, b, half + 1)
      : (kthPairwiseDifference(c, b, half) + kthPairwiseDifference(c, b, half + 1)) / 2;
  const k = intervalRank(c.length, b.length, test, level);
  // NaN (a level outside (0, 1)) or k < 1: no order statistic bounds the shift at this level.
  if (!(k >= 1)) return { estimate, lower: null, upper: null };
  return { estimate, lower: kthPairwiseDifference(c, b, k), upper: kthPairwiseDifference(c, b, nm + 1 - k) };
}

function finiteSorted(series: readonly (number | null)[]): Float64Array {
  let count = 0;
  for (const v of series) if (v !== null && Number.isFinite(v)) count++;
  const out = new Float64Array(count);
  let i = 0;
  for (const v of series) if (v !== null && Number.isFinite(v)) out[i++] = v;
  return out.sort();
}

function sortedCopy(values: readonly number[]): Float64Array {
  return Float64Array.from(values).sort();
}

function sortedMedian(sorted: Float64Array): number {
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** mulberry32: a small deterministic generator of floats in [0, 1). */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function tooFewPoints(
  points: { canary: number; baseline: number },
  dropped: { canary: number; baseline: number },
  needed: number,
): string {
  const short: string[] = [];
  if (points.canary < needed) short.push(`${points.canary} canary`);
  if (points.baseline < needed) short.push(`${points.baseline} baseline`);
  return `${short.join(' and ')} points in the window, ${needed} needed${droppedNote(dropped)}`;
}

function droppedNote(dropped: { canary: number; baseline: number }): string {
  const parts: string[] = [];
  if (dropped.canary > 0) parts.push(`${dropped.canary} canary`);
  if (dropped.baseline > 0) parts.push(`${dropped.baseline} baseline`);
  return parts.length > 0 ? ` (${parts.join(', ')} NaN or missing dropped)` : '';
}

interface ShiftFigures {
  estimate: number;
  interval: ShiftInterval;
  effectFloor: number;
  baselineMedian: number;
  pValue: number;
  exact: boolean;
  points: { canary: number; baseline: number };
  dropped: { canary: number; baseline: number };
}

/**
 * Why a judged shift got its verdict, e.g.
 * `shift +0.042 [0.031, 0.055] > floor 0.012 (10% of baseline median 0.12), p 3e-9, 38/40 points`
 * (points: canary/baseline; `p 0.0079 (exact)` when the exact distribution gave it).
 */
function explainShift(verdict: Verdict, s: MannWhitneySettings, f: ShiftFigures): string {
  const higher = s.worse === 'higher';
  const floor = higher ? f.effectFloor : -f.effectFloor;
  const floorText =
    s.tolerance > 0
      ? `floor ${num(floor)} (${num(s.tolerance * 100)}% of baseline median ${num(f.baselineMedian)})`
      : `floor ${num(floor)}`;
  const shift = `${signed(f.estimate)} ${intervalText(f.interval)}`;
  const evidence = `p ${num(f.pValue, 2)}${f.exact ? ' (exact)' : ''}, ${f.points.canary}/${f.points.baseline} points${droppedNote(f.dropped)}`;
  if (verdict === 'fail') return `shift ${shift} ${higher ? '>' : '<'} ${floorText}, ${evidence}`;
  const significant = higher
    ? f.interval.lower !== null && f.interval.lower > 0
    : f.interval.upper !== null && f.interval.upper < 0;
  if (significant) return `shift ${shift} is significant but within ${floorText}, ${evidence}`;
  return `no shift beyond ${floorText}: ${shift}, ${evidence}`;
}

function intervalText(i: ShiftInterval): string {
  return `[${i.lower === null ? '-inf' : num(i.lower)}, ${i.upper === null ? '+inf' : num(i.upper)}]`;
}

function signed(v: number): string {
  return v >= 0 ? `+${num(v)}` : num(v);
}

/** Three significant digits (two for p-values): 0.0421337 reads as 0.0421. */
function num(v: number, digits = 3): string {
  return String(Number(v.toPrecision(digits)));
}
