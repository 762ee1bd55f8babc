/**
 * The Mann-Whitney judge (analysis.md section 4): published examples, a brute-force check of
 * the selection of pairwise differences, the verdict boundaries, and the memory bound.
 */
import { describe, expect, it } from 'vitest';
import normalCdf from '@stdlib/stats-base-dists-normal-cdf';
import {
  exactUCounts,
  hodgesLehmann,
  kthPairwiseDifference,
  mannWhitneyJudgement,
  mannWhitneyU,
  median,
  type MannWhitneySettings,
} from '../../src/gates/mann-whitney.js';

/** A seeded generator (mulberry32) so every random case is reproducible. */
function rng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** All n m differences canary - baseline, sorted: what the selection must agree with. */
function allDifferences(c: readonly number[], b: readonly number[]): number[] {
  const d: number[] = [];
  for (const x of c) for (const y of b) d.push(x - y);
  return d.sort((p, q) => p - q);
}

/**
 * U's exact null counts by another route than the module's: the Gaussian binomial
 * [n + m choose n]_q = prod_{i=1..n} (1 - q^(m+i)) / (1 - q^i), in exact BigInt arithmetic.
 */
function gaussianBinomial(n: number, m: number): bigint[] {
  let poly: bigint[] = [1n];
  for (let i = 1; i <= n; i++) {
    const times = Array.from({ length: poly.length + m + i }, (_, k) => (poly[k] ?? 0n) - (poly[k - m - i] ?? 0n));
    const divided: bigint[] = [];
    for (let k = 0; k < times.length - i; k++) divided.push((times[k] as bigint) + (divided[k - i] ?? 0n));
    poly = divided;
  }
  return poly;
}

/** The exact interval rank: the largest k with P(U <= k - 1) <= (1 - level) / 2. */
function exactRank(n: number, m: number, level: number): number {
  const counts = gaussianBinomial(n, m).map(Number);
  const all = counts.reduce((a, c) => a + c, 0);
  let k = 0;
  let below = 0;
  while ((below + (counts[k] as number)) / all <= (1 - level) / 2) below += counts[k++] as number;
  return k;
}

/** The normal interval rank floor(nm/2 - z sd), z found by bisection on the cdf (not the quantile function). */
function normalRank(nm: number, sd: number, level: number): number {
  let lo = 0;
  let hi = 10;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (normalCdf(mid, 0, 1) < (1 + level) / 2) lo = mid;
    else hi = mid;
  }
  return Math.floor(nm / 2 - lo * sd);
}

const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);
const settings = (over: Partial<MannWhitneySettings> = {}): MannWhitneySettings => ({
  worse: 'higher',
  level: 0.99,
  tolerance: 0.1,
  minSamples: 20,
  ...over,
});

describe('published examples', () => {
  // R's wilcox.test(x, y) (continuity correction, normal approximation with ties), output as
  // printed at https://endmemo.com/r/wilcoxon.php: "W = 51.5, p-value = 0.5966" and
  // "W = 0, p-value = 0.001364". R's W is the U of its first argument, like our u.
  const x = [1, 5, 9, 24, 56, 21, 3, 7, 21, 4];
  it('R wilcox.test with ties: W = 51.5, p = 0.5966', () => {
    const t = mannWhitneyU(x, [12, 15, 5, 9, 9, 14, 56, 22, 3, 7, 32, 5]);
    expect(t.u).toBe(51.5);
    expect(t.pValue).toBeCloseTo(0.5966, 4);
  });
  it('R wilcox.test, every canary point below the baseline: W = 0, p = 0.001364', () => {
    const t = mannWhitneyU(x, [1233, 4356, 987, 39999, 1111, 200000]);
    expect(t.u).toBe(0);
    expect(t.pValue).toBeCloseTo(0.001364, 6);
  });

  // SAS/STAT User's Guide, PROC NPAR1WAY, Example "Exact Wilcoxon Two-Sample Test" and
  // "Hodges-Lehmann Estimation" (data set React, heavy ties): stimulant 2 has rank sum 79.50,
  // expected 60.0, std dev under H0 11.004784 (tie corrected); without continuity correction
  // the two-sided p-value is 0.0764; Hodges-Lehmann shift (2 - 1) 0.35 with the 98%
  // asymptotic (Moses) limits 0.00 and 0.82.
  const stim1 = [1.94, 1.94, 2.92, 2.92, 2.92, 2.92, 3.27, 3.27, 3.27, 3.27, 3.7, 3.7, 3.74];
  const stim2 = [3.27, 3.27, 3.27, 3.7, 3.7, 3.74];
  it('SAS NPAR1WAY React: rank sum 79.5, sd 11.004784, two-sided p 0.0764 uncorrected', () => {
    const t = mannWhitneyU(stim2, stim1);
    expect(t.u + (6 * 7) / 2).toBe(79.5); // U = rank sum - n(n+1)/2
    expect(t.mean).toBe(39); // U's mean n m / 2; the rank sum's is 39 + 21 = 60.0
    expect(t.sd).toBeCloseTo(11.004784, 6);
    expect(2 * normalCdf(-(t.u - t.mean) / t.sd, 0, 1)).toBeCloseTo(0.0764, 4);
    // Our p-value is the continuity-corrected one of the same statistic.
    expect(t.z).toBeCloseTo((79.5 - 60 - 0.5) / 11.004784, 6);
    expect(t.pValue).toBeCloseTo(2 * normalCdf(-(79.5 - 60 - 0.5) / 11.004784, 0, 1), 6);
  });
  it('SAS NPAR1WAY React: Hodges-Lehmann 0.35, 98% Moses limits 0.00 and 0.82 (tie-corrected k)', () => {
    const hl = hodgesLehmann(stim2, stim1, 0.98);
    expect(hl.estimate).toBeCloseTo(0.35, 10);
    expect(hl.lower).toBeCloseTo(0, 10);
    expect(hl.upper).toBeCloseTo(0.82, 10);
  });

  // Hollander, Wolfe & Chicken's example as run through SAS PROC NPAR1WAY HL in the PHUSE CAMIS
  // project (https://psiaims.github.io/CAMIS/SAS/nparestimate.html): location shift (A - B)
  // 0.5600, 95% asymptotic (Moses) limits -0.3700 and 1.1830.
  it('CAMIS / Hollander-Wolfe-Chicken: shift 0.56, 95% Moses limits -0.37 and 1.183', () => {
    const a = [1.83, 0.5, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.3];
    const b = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29];
    const hl = hodgesLehmann(a, b, 0.95);
    expect(hl.estimate).toBeCloseTo(0.56, 10);
    expect(hl.lower).toBeCloseTo(-0.37, 10);
    expect(hl.upper).toBeCloseTo(1.183, 10);
  });
});

describe('U and the selection of pairwise differences against brute force', () => {
  /** U of the canary by its definition: pairs where the canary is higher, ties count half. */
  function bruteU(c: readonly number[], b: readonly number[]): number {
    let u = 0;
    for (const x of c) for (const y of b) u += x > y ? 1 : x === y ? 0.5 : 0;
    return u;
  }
  /** sum(t^3 - t) over the tie groups, counted with a map. */
  function bruteTies(values: readonly number[]): number {
    const counts = new Map<number, number>();
    for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
    let s = 0;
    for (const t of counts.values()) s += t ** 3 - t;
    return s;
  }

  it('every k-th difference, U and the tie correction match, for 300 random small samples with and without ties', () => {
    const random = rng(42);
    for (let trial = 0; trial < 300; trial++) {
      const n = 1 + Math.floor(random() * 12);
      const m = 1 + Math.floor(random() * 12);
      // Half the trials draw from 6 values (many ties), half are continuous.
      const draw = trial % 2 === 0 ? () => Math.floor(random() * 6) : () => random() * 10 - 5;
      const c = Array.from({ length: n }, draw);
      const b = Array.from({ length: m }, draw);
      const sortedC = Float64Array.from(c).sort();
      const sortedB = Float64Array.from(b).sort();
      const d = allDifferences(c, b);
      for (let k = 1; k <= n * m; k++) expect(kthPairwiseDifference(sortedC, sortedB, k)).toBe(d[k - 1]);
      const t = mannWhitneyU(c, b);
      expect(t.u).toBe(bruteU(c, b));
      expect(t.tieCorrection).toBe(bruteTies([...c, ...b]));
    }
  });

  it('the estimate is the median of the differences and the interval is d_(k), d_(nm+1-k)', () => {
    const random = rng(7);
    for (let trial = 0; trial < 200; trial++) {
      const n = 5 + Math.floor(random() * 40);
      const m = 5 + Math.floor(random() * 40);
      const draw = trial % 2 === 0 ? () => Math.round(random() * 20) / 4 : () => random();
      const c = Array.from({ length: n }, draw);
      const b = Array.from({ length: m }, draw);
      const d = allDifferences(c, b);
      const nm = n * m;
      const med = nm % 2 === 1 ? d[(nm - 1) / 2] : ((d[nm / 2 - 1] as number) + (d[nm / 2] as number)) / 2;
      const level = 0.9 + random() * 0.099;
      const hl = hodgesLehmann(c, b, level);
      expect(hl.estimate).toBe(med);
      const test = mannWhitneyU(c, b);
      expect(test.exact).toBe(n < 20 && m < 20 && new Set([...c, ...b]).size === n + m);
      const k = test.exact ? exactRank(n, m, level) : normalRank(nm, test.sd, level);
      if (k < 1) {
        expect(hl.lower).toBeNull();
        expect(hl.upper).toBeNull();
      } else {
        expect(hl.lower).toBe(d[k - 1]);
        expect(hl.upper).toBe(d[nm - k]);
      }
    }
  });

  it('unequal sizes (25 canary, 300 baseline) agree with brute force', () => {
    const random = rng(99);
    const c = Array.from({ length: 25 }, () => 1 + random());
    const b = Array.from({ length: 300 }, () => random());
    const d = allDifferences(c, b);
    const hl = hodgesLehmann(c, b, 0.95);
    expect(hl.estimate).toBe(((d[3749] as number) + (d[3750] as number)) / 2);
    expect(hl.lower).toBe(d[Math.floor(3750 - 1.959963984540054 * mannWhitneyU(c, b).sd) - 1]);
    expect(mannWhitneyU(c, b).u).toBe(bruteU(c, b));
  });

  it('k outside 1..nm is an error, not a guess', () => {
    const c = Float64Array.from([1, 2]);
    const b = Float64Array.from([3]);
    expect(() => kthPairwiseDifference(c, b, 0)).toThrow(RangeError);
    expect(() => kthPairwiseDifference(c, b, 3)).toThrow(RangeError);
  });

  it('median of an even and an odd count, and of nothing', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNull();
  });
});

describe('exact distribution (both sides under 20 points, no ties)', () => {
  // Critical values of U, two-tailed alpha 0.05 (reject when U <= the value), from the
  // published tables (e.g. "Critical values of Mann-Whitney U at p = 0.05 (two-tailed test)",
  // docstoc 53225816; numeracy-bank.net's table, which also gives n1 = n2 = 20: 127).
  it.each([
    [5, 5, 2],
    [5, 10, 8],
    [7, 7, 8],
    [7, 12, 18],
    [10, 10, 23],
    [10, 13, 33],
    [13, 13, 45],
    [13, 19, 72],
    [20, 20, 127],
  ])('n %i, m %i: the two-tailed 5 percent critical U is %i', (n, m, critical) => {
    const counts = exactUCounts(n, m);
    const all = counts.reduce((a, c) => a + c, 0);
    let cumulative = 0;
    let largest = -1;
    for (let u = 0; u < counts.length && (cumulative += counts[u] as number) / all <= 0.025; u++) largest = u;
    expect(largest).toBe(critical);
  });

  it('counts agree with the Gaussian binomial coefficients, computed exactly another way', () => {
    for (const [n, m] of [[1, 1], [3, 8], [9, 4], [12, 12], [19, 17], [20, 20]] as const) {
      expect(Array.from(exactUCounts(n, m))).toEqual(gaussianBinomial(n, m).map(Number));
    }
  });

  it('every canary point above every baseline point, 5 against 5: U 25, p = 2 / C(10, 5), exact', () => {
    const t = mannWhitneyU([6, 7, 8, 9, 10], [1, 2, 3, 4, 5]);
    expect(t).toMatchObject({ u: 25, exact: true });
    expect(t.pValue).toBeCloseTo(2 / 252, 12);
    const r = mannWhitneyJudgement([6, 7, 8, 9, 10], [1, 2, 3, 4, 5], settings({ minSamples: 5, level: 0.95 }));
    // P(U <= 2) = 4/252 <= 0.025 < P(U <= 3) = 7/252: k = 3. The 25 differences are 1 once,
    // 2 twice, 3 three times ... 9 once: [d_(3), d_(23)] = [2, 8].
    expect(r.interval).toEqual({ lower: 2, upper: 8 });
    expect(r.verdict).toBe('fail');
    expect(r.why).toMatch(/, p 0\.0079 \(exact\), 5\/5 points$/);
  });

  it('ties, or 20 points on a side, use the normal approximation', () => {
    expect(mannWhitneyU([1, 2, 3], [3, 4, 5]).exact).toBe(false);
    expect(mannWhitneyU(range(0, 20), range(100, 5)).exact).toBe(false);
    expect(mannWhitneyU(range(0, 19), range(100, 19)).exact).toBe(true);
  });
});

describe('verdicts', () => {
  // Integer points keep every difference exact: the canary is the baseline shifted by `delta`,
  // so the interval is the no-shift interval moved by `delta`, and the boundary is constructed.
  const baseline = range(100, 41); // median 120
  const shifted = (delta: number) => baseline.map((v) => v + delta);
  const noShift = hodgesLehmann(baseline, baseline, 0.99);
  const floor = 0.25 * 120; // tolerance 25%: 30, exact

  it('worse: higher fails when the lower bound is just above the floor, passes at the floor', () => {
    const lowerAtZero = noShift.lower as number;
    expect(lowerAtZero).toBeLessThan(0);
    const atFloor = floor - lowerAtZero; // lower bound lands exactly on the floor
    const s = settings({ tolerance: 0.25 });
    const pass = mannWhitneyJudgement(shifted(atFloor), baseline, s);
    expect(pass.interval?.lower).toBe(floor);
    expect(pass.effectFloor).toBe(floor);
    expect(pass.verdict).toBe('pass');
    expect(pass.why).toMatch(/^shift \+\d+ \[30, \d+\] is significant but within floor 30 \(25% of baseline median 120\), p /);
    const fail = mannWhitneyJudgement(shifted(atFloor + 1), baseline, s);
    expect(fail.interval?.lower).toBe(floor + 1);
    expect(fail.verdict).toBe('fail');
    expect(fail.why).toMatch(/^shift \+\d+ \[31, \d+\] > floor 30 \(25% of baseline median 120\), p [\d.e-]+, 41\/41 points$/);
    expect(fail.estimate).toBe(atFloor + 1);
    expect(fail.u).toBeGreaterThan((41 * 41) / 2);
    expect(fail.pValue).toBeLessThan(0.01);
  });

  it('worse: lower mirrors it: fails when the upper bound is just below -floor', () => {
    const upperAtZero = noShift.upper as number;
    const atFloor = -floor - upperAtZero; // upper bound lands exactly on -floor
    const s = settings({ tolerance: 0.25, worse: 'lower' });
    const pass = mannWhitneyJudgement(shifted(atFloor), baseline, s);
    expect(pass.interval?.upper).toBe(-floor);
    expect(pass.verdict).toBe('pass');
    const fail = mannWhitneyJudgement(shifted(atFloor - 1), baseline, s);
    expect(fail.interval?.upper).toBe(-floor - 1);
    expect(fail.verdict).toBe('fail');
    expect(fail.why).toMatch(/^shift -\d+ \[-\d+, -31\] < floor -30 \(25% of baseline median 120\)/);
    // A canary that got much higher is no regression when lower is worse.
    expect(mannWhitneyJudgement(shifted(200), baseline, s).verdict).toBe('pass');
  });

  it('worse: higher ignores an improvement however large', () => {
    const r = mannWhitneyJudgement(shifted(-200), baseline, settings());
    expect(r.verdict).toBe('pass');
    expect(r.why).toMatch(/^no shift beyond floor 12 \(10% of baseline median 120\): -200 \[/);
  });

  it('no shift passes, with the interval around 0 and the numbers in the result', () => {
    const r = mannWhitneyJudgement(baseline, baseline, settings());
    expect(r).toMatchObject({
      verdict: 'pass',
      points: { canary: 41, baseline: 41 },
      dropped: { canary: 0, baseline: 0 },
      canaryMedian: 120,
      baselineMedian: 120,
      estimate: 0,
      u: (41 * 41) / 2,
      pValue: 1,
      level: 0.99,
      effectFloor: 12,
    });
    expect(r.interval).toEqual({ lower: noShift.lower, upper: noShift.upper });
    expect(r.why).toBe(`no shift beyond floor 12 (10% of baseline median 120): +0 [${noShift.lower}, ${noShift.upper}], p 1, 41/41 points`);
  });

  it('a baseline median of 0 makes the floor 0: any significant worse shift fails', () => {
    const centred = range(-20, 41); // median 0
    const s = settings({ tolerance: 0.5 });
    const lowerAtZero = hodgesLehmann(centred, centred, 0.99).lower as number;
    const justSignificant = centred.map((v) => v - lowerAtZero + 1);
    const r = mannWhitneyJudgement(justSignificant, centred, s);
    expect(r.baselineMedian).toBe(0);
    expect(r.effectFloor).toBe(0);
    expect(r.interval?.lower).toBe(1);
    expect(r.verdict).toBe('fail');
    expect(r.why).toMatch(/> floor 0 \(50% of baseline median 0\)/);
    const atZero = centred.map((v) => v - lowerAtZero);
    expect(mannWhitneyJudgement(atZero, centred, s).verdict).toBe('pass');
  });

  it('tolerance 0 judges significance alone', () => {
    const lowerAtZero = noShift.lower as number;
    const r = mannWhitneyJudgement(shifted(1 - lowerAtZero), baseline, settings({ tolerance: 0 }));
    expect(r.verdict).toBe('fail');
    expect(r.why).toMatch(/> floor 0, p /);
  });

  it('a higher level widens the interval: the same shift fails at 0.9 and passes at 0.9999', () => {
    const lower90 = hodgesLehmann(baseline, baseline, 0.9).lower as number;
    const canary = shifted(floor - lower90 + 1);
    expect(mannWhitneyJudgement(canary, baseline, settings({ tolerance: 0.25, level: 0.9 })).verdict).toBe('fail');
    expect(mannWhitneyJudgement(canary, baseline, settings({ tolerance: 0.25, level: 0.9999 })).verdict).toBe('pass');
  });

  it('unequal sizes: 20 canary points against 400 baseline points', () => {
    const random = rng(5);
    const base = Array.from({ length: 400 }, () => 0.1 + 0.02 * random());
    const slow = Array.from({ length: 20 }, () => 0.15 + 0.02 * random());
    const r = mannWhitneyJudgement(slow, base, settings());
    expect(r.points).toEqual({ canary: 20, baseline: 400 });
    expect(r.verdict).toBe('fail');
    expect(r.u).toBe(20 * 400);
    const same = Array.from({ length: 20 }, () => 0.1 + 0.02 * random());
    expect(mannWhitneyJudgement(same, base, settings()).verdict).toBe('pass');
  });
});

describe('points: dropped and the floor on points', () => {
  it('drops null, NaN and infinite points per side, and judges the rest', () => {
    const canary = [...range(200, 30), null, Number.NaN, Number.POSITIVE_INFINITY];
    const baseline = [...range(100, 30), null, Number.NEGATIVE_INFINITY];
    const r = mannWhitneyJudgement(canary, baseline, settings());
    expect(r.points).toEqual({ canary: 30, baseline: 30 });
    expect(r.dropped).toEqual({ canary: 3, baseline: 2 });
    expect(r.canaryMedian).toBe(214.5);
    expect(r.baselineMedian).toBe(114.5);
    expect(r.estimate).toBe(100);
    expect(r.verdict).toBe('fail');
    expect(r.why).toMatch(/, 30\/30 points \(3 canary, 2 baseline NaN or missing dropped\)$/);
  });

  it('exactly minSamples points on each side is judged; one fewer is nodata with the count', () => {
    const s = settings({ minSamples: 20 });
    expect(mannWhitneyJudgement(range(0, 20), range(0, 20), s).verdict).toBe('pass');
    const r = mannWhitneyJudgement([...range(0, 19), Number.NaN, null, Number.NaN], range(0, 20), s);
    expect(r).toMatchObject({
      verdict: 'nodata',
      why: '19 canary points in the window, 20 needed (3 canary NaN or missing dropped)',
      points: { canary: 19, baseline: 20 },
      dropped: { canary: 3, baseline: 0 },
      canaryMedian: 9,
      baselineMedian: 9.5,
      estimate: null,
      interval: null,
      level: 0.99,
    });
    expect(r.u).toBeUndefined();
    expect(r.pValue).toBeUndefined();
  });

  it('both sides short are both named', () => {
    const r = mannWhitneyJudgement(range(0, 3), range(0, 5), settings());
    expect(r.why).toBe('3 canary and 5 baseline points in the window, 20 needed');
  });

  it('no points at all is nodata even with minSamples 0', () => {
    const r = mannWhitneyJudgement([], [Number.NaN], settings({ minSamples: 0 }));
    expect(r.verdict).toBe('nodata');
    expect(r.canaryMedian).toBeNull();
    expect(r.baselineMedian).toBeNull();
    expect(r.why).toBe('0 canary and 0 baseline points in the window, 1 needed (1 baseline NaN or missing dropped)');
  });

  it('too few points for any interval at the level: unbounded, so it passes', () => {
    const r = mannWhitneyJudgement([10, 11], [1, 2], settings({ minSamples: 2 }));
    expect(r.interval).toEqual({ lower: null, upper: null });
    expect(r.verdict).toBe('pass');
    expect(r.why).toMatch(/\[-inf, \+inf\]/);
  });

  it('every point tied: p 1, a zero-width interval at 0, pass', () => {
    const flat = Array.from({ length: 25 }, () => 0.2);
    const r = mannWhitneyJudgement(flat, flat, settings());
    expect(r.pValue).toBe(1);
    expect(r.interval).toEqual({ lower: 0, upper: 0 });
    expect(r.verdict).toBe('pass');
  });
});

describe('memory', () => {
  it('11,000 x 11,000 points never materializes the 1.21e8 pairwise differences', () => {
    const random = rng(11);
    const canary = Array.from({ length: 11_000 }, () => 0.1 + 0.05 * random());
    const baseline = Array.from({ length: 11_000 }, () => 0.1 + 0.05 * random());
    const pairsBytes = 11_000 * 11_000 * 8;
    const before = process.memoryUsage();
    const peakBefore = process.resourceUsage().maxRSS * 1024;
    const r = mannWhitneyJudgement(canary, baseline, settings());
    const after = process.memoryUsage();
    const peakAfter = process.resourceUsage().maxRSS * 1024;
    expect(r.points).toEqual({ canary: 11_000, baseline: 11_000 });
    const grown = after.heapUsed + after.arrayBuffers - (before.heapUsed + before.arrayBuffers);
    expect(grown).toBeLessThan(pairsBytes / 50);
    // The process's peak resident memory, not only what is left after the call.
    expect(peakAfter - Math.max(peakBefore, before.rss)).toBeLessThan(pairsBytes / 20);
  });
});

describe('error rates over many seeded samples', () => {
  /** Latency-like points: a floor plus an exponential tail, rounded so that ties happen. */
  function latencies(random: () => number, count: number, scale: number, step: number): number[] {
    return Array.from({ length: count }, () => Math.round((scale * (0.1 - 0.03 * Math.log(1 - random()))) / step) * step);
  }

  it.each([
    // level, rounding step (0.01 makes heavy ties), tolerance
    [0.9, 0.0001, 0],
    [0.9, 0.01, 0],
    [0.98, 0.001, 0],
    [0.98, 0.01, 0.05],
  ])('no shift: at level %s (step %s, tolerance %s) the fail rate stays at or below (1 - level) / 2', (level, step, tolerance) => {
    const random = rng(Math.round(level * 1000 + step * 1e4 + tolerance * 100));
    const trials = 2000;
    let fails = 0;
    for (let t = 0; t < trials; t++) {
      const n = 20 + Math.floor(random() * 180);
      const m = 20 + Math.floor(random() * 180);
      const r = mannWhitneyJudgement(latencies(random, n, 1, step), latencies(random, m, 1, step), settings({ level, tolerance }));
      if (r.verdict === 'fail') fails++;
    }
    const bound = (1 - level) / 2;
    // Three binomial standard deviations above the bound at this many trials.
    expect(fails / trials).toBeLessThanOrEqual(bound + 3 * Math.sqrt((bound * (1 - bound)) / trials));
  });

  it('a shift of three times the floor is caught in at least 95% of samples, one within the floor in at most (1 - level) / 2', () => {
    const random = rng(2024);
    const trials = 400;
    let caught = 0;
    let withinFloorFails = 0;
    for (let t = 0; t < trials; t++) {
      const n = 40 + Math.floor(random() * 160);
      const baseline = latencies(random, n, 1, 0.0001);
      const floor = 0.1 * (median(baseline) as number);
      const slower = latencies(random, n, 1, 0.0001).map((v) => v + 3 * floor);
      if (mannWhitneyJudgement(slower, baseline, settings({ level: 0.98 })).verdict === 'fail') caught++;
      const slightly = latencies(random, n, 1, 0.0001).map((v) => v + floor);
      if (mannWhitneyJudgement(slightly, baseline, settings({ level: 0.98 })).verdict === 'fail') withinFloorFails++;
    }
    expect(caught / trials).toBeGreaterThanOrEqual(0.95);
    expect(withinFloorFails / trials).toBeLessThanOrEqual(0.01 + 3 * Math.sqrt((0.01 * 0.99) / trials));
  });
});
