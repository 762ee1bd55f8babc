/**
 * The sequential test of error counts (src/gates/sequential.ts, analysis.md section 3): the
 * e-value against an independent numerical integral, the verdict table, the interval, and the
 * property that makes it worth having: under the null its false-rollback rate stays at alpha
 * however often it looks, where a fixed threshold at the same looks does not.
 */
import betainc from '@stdlib/math-base-special-betainc';
import { describe, expect, it } from 'vitest';
import {
  logProofEValue,
  logRegressionEValue,
  ratioInterval,
  sequentialJudgement,
  type SequentialSettings,
} from '../../src/gates/sequential.js';

const settings: SequentialSettings = { alpha: 0.01, tolerance: 0.1, require: 'no-regression', minSamples: 1000 };
const proof: SequentialSettings = { ...settings, require: 'proof' };

/** The contract's q0 for the counts and tolerance. */
function nullShare(n_c: number, n_b: number, tolerance: number): number {
  return (n_c * (1 + tolerance)) / (n_c * (1 + tolerance) + n_b);
}

/** A seeded uniform generator (mulberry32), so every run draws the same events. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---- the independent computation: the e-values as integrals, numerically -------------------

/**
 * log of the integral over (0, 1) of exp(g(u)), by adaptive Simpson on panels that double in
 * width away from the integrand's peak (it can be narrower than 1e-6), after scaling the peak to 1.
 */
function logIntegral(g: (u: number) => number, peak: number): number {
  const top = g(peak);
  const f = (u: number): number => Math.exp(g(u) - top);
  const edges = new Set<number>([0, 1, peak]);
  for (let i = 0; i <= 60; i++) {
    const d = 2 ** -i;
    if (peak - d > 0) edges.add(peak - d);
    if (peak + d < 1) edges.add(peak + d);
  }
  const sorted = [...edges].sort((a, b) => a - b);
  const panels = sorted.slice(1).map((b, i) => [sorted[i]!, b] as const);
  const simpson = (a: number, b: number): number => ((b - a) / 6) * (f(a) + 4 * f((a + b) / 2) + f(b));
  const rough = panels.reduce((sum, [a, b]) => sum + simpson(a, b), 0);
  const tolerance = (1e-12 * rough) / panels.length;
  const adaptive = (a: number, b: number, whole: number, tol: number, depth: number): number => {
    const m = (a + b) / 2;
    const left = simpson(a, m);
    const right = simpson(m, b);
    if (depth > 40 || Math.abs(left + right - whole) <= 15 * tol) return left + right + (left + right - whole) / 15;
    return adaptive(a, m, left, tol / 2, depth + 1) + adaptive(m, b, right, tol / 2, depth + 1);
  };
  const total = panels.reduce((sum, [a, b]) => sum + adaptive(a, b, simpson(a, b), tolerance, 0), 0);
  return top + Math.log(total);
}

/**
 * E against q <= q0 as its definition, the mean over q uniform on (q0, 1) of the likelihood
 * ratio (q/q0)^x ((1-q)/(1-q0))^y; with q = q0 + (1 - q0) u that is the integral over u in (0, 1)
 * of (1 + u (1/q0 - 1))^x (1 - u)^y.
 */
function integralLogE(x: number, y: number, q0: number): number {
  const c = 1 / q0 - 1;
  const g = (u: number): number => x * Math.log1p(u * c) + (y === 0 ? 0 : y * Math.log1p(-u));
  const peak = x + y === 0 ? 0 : Math.min(1, Math.max(0, (x * c - y) / (c * (x + y))));
  return logIntegral(g, peak);
}

/** Eproof against q >= q0: with q = q0 u, the integral of u^x (1 + q0 (1 - u) / (1 - q0))^y. */
function integralLogEProof(x: number, y: number, q0: number): number {
  const c = q0 / (1 - q0);
  const g = (u: number): number => (x === 0 ? 0 : x * Math.log(u)) + y * Math.log1p(c * (1 - u));
  const peak = x + y === 0 ? 1 : Math.min(1, (x * (1 + c)) / (c * (x + y)));
  return logIntegral(g, peak);
}

describe('the e-values against a numerical integral', () => {
  const table: [number, number, number][] = [
    [0, 0, 0.5],
    [0, 10, 0.3],
    [10, 0, 0.3],
    [1, 1, 0.05],
    [3, 50, 0.05],
    [50, 3, 0.95],
    [41, 380, 0.0533],
    [120, 2300, 0.05], // a 5/95 split
    [2300, 120, 0.95], // a 95/5 split
    [400, 380, 0.5],
    [0, 1000, 0.05],
    [1000, 0, 0.95],
    [20, 20, 0.999],
    [7, 3, 0.001],
    [2000, 30000, 0.0625],
    [5000, 10, 0.5], // deep in the lower tail: I_q0 underflows (the proof e-value)
    [10, 5000, 0.5], // deep in the upper tail: 1 - I_q0 underflows (the regression e-value)
    [20000, 30000, 0.3],
  ];
  it.each(table)('x %d, y %d, q0 %d', (x, y, q0) => {
    const logE = logRegressionEValue(x, y, q0);
    const logEProof = logProofEValue(x, y, q0);
    expect(Number.isFinite(logE)).toBe(true);
    expect(Number.isFinite(logEProof)).toBe(true);
    // |log E - log E_ref| < 1e-6 is a relative error below 1e-6 of E itself.
    expect(Math.abs(logE - integralLogE(x, y, q0))).toBeLessThan(1e-6);
    expect(Math.abs(logEProof - integralLogEProof(x, y, q0))).toBeLessThan(1e-6);
  });

  it('the deep-tail rows above are past what the incomplete beta function can represent', () => {
    // So those rows check the continued fraction in logs that takes over there.
    expect(betainc(0.5, 5001, 11, true, false)).toBe(0);
    expect(betainc(0.5, 11, 5001, true, true)).toBe(0);
  });

  it('is 1 without bad events, and 1/(y+1) (resp. 1/(x+1)) when only the other track has them', () => {
    expect(logRegressionEValue(0, 0, 0.3)).toBeCloseTo(0, 12);
    expect(logProofEValue(0, 0, 0.3)).toBeCloseTo(0, 12);
    for (const q0 of [0.05, 0.5, 0.95]) {
      expect(logRegressionEValue(0, 9, q0)).toBeCloseTo(-Math.log(10), 10);
      expect(logProofEValue(9, 0, q0)).toBeCloseTo(-Math.log(10), 10);
    }
  });

  it('E falls and Eproof rises as q0 rises (what the interval search relies on)', () => {
    for (const [x, y] of [[3, 40], [41, 380], [300, 20], [1, 0], [0, 1]] as const) {
      let lastE = Number.POSITIVE_INFINITY;
      let lastProof = Number.NEGATIVE_INFINITY;
      for (let q0 = 0.001; q0 < 0.999; q0 += 0.007) {
        const logE = logRegressionEValue(x, y, q0);
        const logEProof = logProofEValue(x, y, q0);
        expect(logE).toBeLessThanOrEqual(lastE + 1e-12);
        expect(logEProof).toBeGreaterThanOrEqual(lastProof - 1e-12);
        lastE = logE;
        lastProof = logEProof;
      }
    }
  });
});

describe('sequential verdicts', () => {
  it('fails a regression with every number of the record and a short reason', () => {
    const j = sequentialJudgement({ x: 60, n_c: 1950, y: 380, n_b: 38100 }, settings);
    expect(j.verdict).toBe('fail');
    expect(j).toMatchObject({ x: 60, n_c: 1950, y: 380, n_b: 38100, threshold: 100 });
    expect(j.canaryRate).toBeCloseTo(60 / 1950, 12);
    expect(j.baselineRate).toBeCloseTo(380 / 38100, 12);
    expect(j.ratio).toBeCloseTo(60 / 1950 / (380 / 38100), 12);
    expect(j.q0).toBeCloseTo(nullShare(1950, 38100, 0.1), 12);
    expect(j.logE).toBeCloseTo(logRegressionEValue(60, 380, nullShare(1950, 38100, 0.1)), 12);
    expect(j.e).toBeCloseTo(Math.exp(j.logE), 6);
    expect(j.e).toBeGreaterThanOrEqual(100);
    expect(j.eProof).toBeUndefined();
    expect(j.interval!.lower).toBeGreaterThan(1.1);
    expect(j.why).toMatch(/^e [\d.e]+ >= 100: canary errors 3\.1% \(60\/1,950\) vs baseline 1\.0% \(380\/38,100\), x3\.09 \[\d\.\d\d, \d\.\d\d\]$/);
  });

  it('passes what it cannot prove to be a regression', () => {
    const j = sequentialJudgement({ x: 22, n_c: 1950, y: 380, n_b: 38100 }, settings);
    expect(j.verdict).toBe('pass');
    expect(j.e).toBeLessThan(100);
    expect(j.why).toMatch(/^e [\d.]+ < 100: regression not proven: canary errors 1\.1% \(22\/1,950\) vs baseline 1\.0% \(380\/38,100\), x1\.13 \[/);
  });

  it('fails exactly from the first count whose e-value reaches 1/alpha (found by search)', () => {
    const counts = { n_c: 1950, y: 380, n_b: 38100 };
    let x = 0;
    while (sequentialJudgement({ ...counts, x }, settings).verdict === 'pass') x++;
    const below = sequentialJudgement({ ...counts, x: x - 1 }, settings);
    const at = sequentialJudgement({ ...counts, x }, settings);
    expect(at.verdict).toBe('fail');
    expect(below.logE).toBeLessThan(Math.log(100));
    expect(at.logE).toBeGreaterThanOrEqual(Math.log(100));
    // The same counts against an alpha that puts 1/alpha just above, and just at, their e-value.
    const alphaAt = 1 / below.e;
    expect(sequentialJudgement({ ...counts, x: x - 1 }, { ...settings, alpha: alphaAt * (1 - 1e-9) }).verdict).toBe('pass');
    expect(sequentialJudgement({ ...counts, x: x - 1 }, { ...settings, alpha: alphaAt * (1 + 1e-9) }).verdict).toBe('fail');
  });

  it('proof: passes once "not worse than the tolerance" is proven, holds until then (found by search)', () => {
    // The canary at the baseline's rate, 1% on a 5/95 split: more traffic, more proof.
    const at = (scale: number) => sequentialJudgement({ x: 10 * scale, n_c: 1000 * scale, y: 190 * scale, n_b: 19000 * scale }, { ...proof, tolerance: 0.5 });
    let scale = 1;
    while (at(scale).verdict === 'hold') scale++;
    const held = at(scale - 1);
    const passed = at(scale);
    expect(passed.verdict).toBe('pass');
    expect(passed.eProof).toBeGreaterThanOrEqual(100);
    expect(passed.why).toMatch(/^proof e \d+ >= 100: not worse than \+50%: canary errors 1\.0% /);
    expect(held.verdict).toBe('hold');
    expect(held.eProof).toBeLessThan(100);
    expect(held.why).toMatch(/^hold: not yet proven within \+50% \(proof e [\d.]+ < 100\): canary errors 1\.0% /);
    // A proven regression still fails under require: proof.
    expect(sequentialJudgement({ x: 60, n_c: 1950, y: 380, n_b: 38100 }, proof).verdict).toBe('fail');
  });

  it('without bad events: pass, but hold under require: proof, saying that nothing can prove it yet', () => {
    const counts = { x: 0, n_c: 1950, y: 0, n_b: 38100 };
    const passed = sequentialJudgement(counts, settings);
    expect(passed).toMatchObject({ verdict: 'pass', e: 1, logE: 0, interval: null });
    expect(passed.why).toBe('no errors on either track (0/1,950 vs 0/38,100): e 1 < 100');
    const held = sequentialJudgement(counts, proof);
    expect(held).toMatchObject({ verdict: 'hold', e: 1, eProof: 1, interval: null });
    expect(held.why).toBe(
      'hold: no errors on either track yet (0/1,950 vs 0/38,100): without errors nothing can prove the canary within +10%, proof e 1 < 100',
    );
  });

  it('baseline without errors: the ratio is null, the interval unbounded above; canary errors alone can prove a regression', () => {
    const few = sequentialJudgement({ x: 1, n_c: 4120, y: 0, n_b: 38100 }, settings);
    expect(few).toMatchObject({ verdict: 'pass', baselineRate: 0, ratio: null });
    expect(few.interval!.lower).toBeGreaterThan(0);
    expect(few.interval!.upper).toBeNull();
    const many = sequentialJudgement({ x: 5, n_c: 4120, y: 0, n_b: 38100 }, settings);
    expect(many.verdict).toBe('fail');
    expect(many.interval!.upper).toBeNull();
    expect(many.interval!.lower).toBeGreaterThan(1);
    expect(many.why).toMatch(/^e \d+ >= 100: canary errors 0\.12% \(5\/4,120\) vs baseline 0% \(0\/38,100\), \[\d\.\d\d, ∞\]$/);
  });

  it('intervalWhenPassing: false leaves out the interval of a passing or holding judgement only, every other number the same', () => {
    const counts = [
      { x: 22, n_c: 1950, y: 380, n_b: 38100 }, // pass
      { x: 60, n_c: 1950, y: 380, n_b: 38100 }, // fail
      { x: 200, n_c: 412, y: 10, n_b: 9000 }, // nodata (below the floor)
      { x: 0, n_c: 1950, y: 0, n_b: 38100 }, // pass without errors
    ];
    for (const s of [settings, proof]) {
      for (const c of counts) {
        const full = sequentialJudgement(c, s);
        const guard = sequentialJudgement(c, s, { intervalWhenPassing: false });
        const { interval, why, ...rest } = full;
        expect(guard).toMatchObject(rest);
        if (full.verdict === 'pass' || full.verdict === 'hold') {
          expect(guard.interval, `${s.require} ${JSON.stringify(c)}`).toBeUndefined();
          expect('interval' in guard).toBe(false);
          // The same reason without the bracketed interval.
          expect(guard.why).toBe(why.replace(/ \[[^\]]*\]$/, ''));
        } else {
          expect(guard.interval).toEqual(interval);
          expect(guard.why).toBe(why);
        }
      }
    }
    // The interval left out is the one ratioInterval gives for the judged counts.
    expect(sequentialJudgement(counts[0]!, settings).interval).toEqual(ratioInterval(22, 1950, 380, 38100, settings.alpha));
  });

  it('no baseline traffic, no canary traffic: nodata', () => {
    const noBaseline = sequentialJudgement({ x: 5, n_c: 4120, y: 0, n_b: 0 }, settings);
    expect(noBaseline).toMatchObject({ verdict: 'nodata', why: 'no baseline requests in the phase to compare with', baselineRate: null, q0: null, interval: null, e: 1 });
    const noCanary = sequentialJudgement({ x: 0, n_c: 0, y: 5, n_b: 4120 }, { ...settings, minSamples: 0 });
    expect(noCanary).toMatchObject({ verdict: 'nodata', why: 'no canary requests in the phase', canaryRate: null });
  });

  it('below the traffic floor: nodata with the count, whatever the evidence', () => {
    const j = sequentialJudgement({ x: 200, n_c: 412, y: 10, n_b: 9000 }, settings);
    expect(j.verdict).toBe('nodata');
    expect(j.why).toBe('412 canary requests in the phase, 1000 needed');
    expect(j.e).toBeGreaterThan(100); // the evidence is still reported
    expect(sequentialJudgement({ x: 0, n_c: 999, y: 0, n_b: 9000 }, settings).verdict).toBe('nodata');
    expect(sequentialJudgement({ x: 0, n_c: 1000, y: 0, n_b: 9000 }, settings).verdict).toBe('pass');
  });

  it('rounds extrapolated counts and clamps them to their totals', () => {
    const j = sequentialJudgement({ x: 40.6, n_c: 1950.4, y: 379.5, n_b: 38099.7 }, settings);
    expect(j).toMatchObject({ x: 41, n_c: 1950, y: 380, n_b: 38100 });
    const clamped = sequentialJudgement({ x: 2500, n_c: 1950, y: -0.4, n_b: 38100 }, settings);
    expect(clamped).toMatchObject({ x: 1950, y: 0, canaryRate: 1, baselineRate: 0, verdict: 'fail' });
  });

  it('unequal splits: the same error rates pass on a 5/95 and a 95/5 split, a x2 regression fails on both', () => {
    const rate = 0.01;
    for (const [n_c, n_b] of [[5_000, 95_000], [95_000, 5_000]] as const) {
      const same = sequentialJudgement({ x: n_c * rate, n_c, y: n_b * rate, n_b }, settings);
      expect(same.verdict).toBe('pass');
      expect(same.e).toBeLessThan(1);
      const doubled = sequentialJudgement({ x: n_c * rate * 2, n_c, y: n_b * rate, n_b }, settings);
      expect(doubled.verdict).toBe('fail');
    }
  });

  it('caps e at Number.MAX_VALUE and keeps logE', () => {
    const j = sequentialJudgement({ x: 5000, n_c: 5000, y: 10, n_b: 5000 }, settings);
    expect(j.e).toBe(Number.MAX_VALUE);
    expect(j.logE).toBeGreaterThan(1000);
    expect(j.why).toMatch(/^e \d\.\de\d+ >= 100: /);
  });
});

describe('the interval of the rate ratio', () => {
  it('covers the true ratio at a look in at least 1 - alpha of the draws', () => {
    const random = seeded(7);
    const trueRatio = 1.5;
    const alpha = 0.1;
    let misses = 0;
    const draws = 400;
    for (let i = 0; i < draws; i++) {
      const n_c = 5000;
      const n_b = 20000;
      let x = 0;
      let y = 0;
      for (let r = 0; r < n_c; r++) if (random() < 0.01 * trueRatio) x++;
      for (let r = 0; r < n_b; r++) if (random() < 0.01) y++;
      const interval = ratioInterval(x, n_c, y, n_b, alpha)!;
      if (interval.lower! > trueRatio || interval.upper! < trueRatio) misses++;
    }
    expect(misses / draws).toBeLessThanOrEqual(alpha);
  });

  it('covers the true ratio at every look, in at least 1 - alpha of the phases (anytime)', () => {
    const random = seeded(11);
    const alpha = 0.1;
    const trueRatio = 1.5;
    const phases = 200;
    let missed = 0;
    for (let trial = 0; trial < phases; trial++) {
      let x = 0;
      let y = 0;
      let n_c = 0;
      let n_b = 0;
      for (let request = 1; request <= 40_000; request++) {
        const canary = random() < 0.2;
        const error = random() < (canary ? 0.01 * trueRatio : 0.01);
        if (canary) {
          n_c++;
          if (error) x++;
        } else {
          n_b++;
          if (error) y++;
        }
        if (request % 400 !== 0) continue;
        const interval = ratioInterval(x, n_c, y, n_b, alpha);
        if (interval !== null && (interval.lower! > trueRatio || (interval.upper ?? Number.POSITIVE_INFINITY) < trueRatio)) {
          missed++;
          break;
        }
      }
    }
    expect(missed / phases).toBeLessThanOrEqual(alpha);
  });

  it('its limits are where the one-sided e-values cross 2/alpha', () => {
    const [x, n_c, y, n_b, alpha] = [41, 1950, 380, 38100, 0.01];
    const { lower, upper } = ratioInterval(x, n_c, y, n_b, alpha)!;
    const limit = Math.log(2 / alpha);
    expect(logRegressionEValue(x, y, nullShare(n_c, n_b, lower! * (1 + 1e-6) - 1))).toBeLessThan(limit);
    expect(logRegressionEValue(x, y, nullShare(n_c, n_b, lower! * (1 - 1e-6) - 1))).toBeGreaterThanOrEqual(limit);
    expect(logProofEValue(x, y, nullShare(n_c, n_b, upper! * (1 - 1e-6) - 1))).toBeLessThan(limit);
    expect(logProofEValue(x, y, nullShare(n_c, n_b, upper! * (1 + 1e-6) - 1))).toBeGreaterThanOrEqual(limit);
  });

  it('moves up with canary errors, down with baseline errors, and narrows with traffic', () => {
    let last = ratioInterval(1, 2000, 40, 40000, 0.01)!;
    for (let x = 2; x <= 80; x++) {
      const next = ratioInterval(x, 2000, 40, 40000, 0.01)!;
      expect(next.lower!).toBeGreaterThan(last.lower!);
      expect(next.upper!).toBeGreaterThan(last.upper!);
      last = next;
    }
    last = ratioInterval(20, 2000, 1, 40000, 0.01)!;
    for (let y = 2; y <= 80; y++) {
      const next = ratioInterval(20, 2000, y, 40000, 0.01)!;
      expect(next.lower!).toBeLessThan(last.lower!);
      expect(next.upper!).toBeLessThan(last.upper!);
      last = next;
    }
    const small = ratioInterval(20, 2000, 400, 40000, 0.01)!;
    const large = ratioInterval(200, 20000, 4000, 400000, 0.01)!;
    expect(large.lower!).toBeGreaterThan(small.lower!);
    expect(large.upper!).toBeLessThan(small.upper!);
  });

  it('without canary errors the lower limit is 0; without bad events there is none', () => {
    expect(ratioInterval(0, 2000, 40, 40000, 0.01)!.lower).toBe(0);
    expect(ratioInterval(0, 2000, 0, 40000, 0.01)).toBeNull();
  });
});

describe('looking as often as you like (the property the sequential test exists for)', () => {
  interface Look {
    n_c: number;
    n_b: number;
  }

  /**
   * One phase: requests arrive one by one, each the canary's with probability `split`, each an
   * error with probability `rate` (the canary's: `canaryRate`, by default the same: the null). Looks come after every
   * `every` requests (1: after each). Returns whether the sequential test and a fixed relative
   * threshold (canary rate > baseline rate x (1 + tolerance)) ever rejected at those looks.
   */
  function phase(random: () => number, p: { rate: number; canaryRate?: number; split: number; tolerance: number; alpha: number; every: number; requests: number; minSamples: number }) {
    const s: SequentialSettings = { alpha: p.alpha, tolerance: p.tolerance, require: 'no-regression', minSamples: p.minSamples };
    const logThreshold = Math.log(1 / p.alpha);
    let x = 0;
    let y = 0;
    let n_c = 0;
    let n_b = 0;
    let sequential = false;
    let fixed = false;
    // Between two errors x and y stay put and E only grows as q0 falls: of the looks in such a
    // stretch, the one with the fewest canary requests per baseline request has the largest E.
    let worst: Look | null = null;
    const judgeStretch = (): void => {
      if (worst === null || sequential) return;
      const logE = logRegressionEValue(x, y, nullShare(worst.n_c, worst.n_b, p.tolerance));
      if (logE >= logThreshold) {
        sequential = true;
        // The verdict the controller would have given at that look.
        expect(sequentialJudgement({ x, n_c: worst.n_c, y, n_b: worst.n_b }, s).verdict).toBe('fail');
      }
      worst = null;
    };
    for (let request = 1; request <= p.requests; request++) {
      const canary = random() < p.split;
      const error = random() < (canary ? (p.canaryRate ?? p.rate) : p.rate);
      if (error) judgeStretch();
      if (canary) {
        n_c++;
        if (error) x++;
      } else {
        n_b++;
        if (error) y++;
      }
      if (request % p.every !== 0 || n_c < Math.max(1, p.minSamples) || n_b === 0) continue;
      if (worst === null || n_c / n_b < worst.n_c / worst.n_b) worst = { n_c, n_b };
      if (x / n_c > (y / n_b) * (1 + p.tolerance)) fixed = true;
    }
    judgeStretch();
    return { sequential, fixed };
  }

  /** Random phases under the null: any base rate, split (5/95 included), tolerance, floor and schedule. */
  function nullPhases(seed: number, alpha: number, trials: number) {
    const random = seeded(seed);
    let sequential = 0;
    let fixed = 0;
    for (let trial = 0; trial < trials; trial++) {
      const rate = Math.exp(Math.log(0.002) + random() * Math.log(0.05 / 0.002));
      const split = [0.05, 0.25, 0.5, 0.95, 0.05 + 0.9 * random()][Math.floor(random() * 5)]!;
      const tolerance = [0, 0, 0.1, 0.2][Math.floor(random() * 4)]!;
      const every = [1, 1, 10, 100, 1000][Math.floor(random() * 5)]!;
      const minSamples = [1, 100, 500][Math.floor(random() * 3)]!;
      const result = phase(random, { rate, split, tolerance, alpha, every, requests: 20_000, minSamples });
      if (result.sequential) sequential++;
      if (result.fixed) fixed++;
    }
    return { sequential, fixed };
  }

  it.each([
    [0.05, 600],
    [0.01, 1000],
  ])('alpha %d: under the null the sequential test rejects in at most alpha of %d phases, a fixed threshold at the same looks in far more', (alpha, trials) => {
    const { sequential, fixed } = nullPhases(Math.round(alpha * 1e6) + trials, alpha, trials);
    // alpha plus three standard deviations of a binomial count of `trials` phases.
    const slack = 3 * Math.sqrt((alpha * (1 - alpha)) / trials);
    const figures = `sequential ${sequential}/${trials}, fixed threshold ${fixed}/${trials}`;
    expect(sequential / trials, figures).toBeLessThanOrEqual(alpha + slack);
    expect(fixed / trials, figures).toBeGreaterThan(alpha + slack);
  });

  it('power: a x2 regression at a 1% base rate is rejected with enough traffic', () => {
    const random = seeded(2);
    const trials = 100;
    let rejected = 0;
    for (let trial = 0; trial < trials; trial++) {
      const run = phase(random, { rate: 0.01, canaryRate: 0.02, split: 0.1, tolerance: 0.1, alpha: 0.01, every: 50, requests: 100_000, minSamples: 1000 });
      if (run.sequential) rejected++;
    }
    expect(rejected / trials).toBeGreaterThanOrEqual(0.95);
  });
});
