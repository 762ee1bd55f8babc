import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { metricResultSchema, type MetricResult } from '../../src/core/record.js';
import { JUDGE_FIELDS, formatJudgement, isJudged, judgeFields, judgeOf } from '../../src/observe/judgement-text.js';
import { formatBreach, formatMetric } from '../../src/observe/decision-text.js';

const base = { query: 'sum(rate(x{token="s3cr3t"}[5m]))', critical: true } as const;
const entry = (m: Omit<MetricResult, 'query' | 'critical'>): MetricResult => ({ ...base, ...m });

/** The judge entries of analysis.md, one per judge and verdict, with the line each must print. */
const CASES: Array<[string, MetricResult, string]> = [
  [
    'floor: below it, nodata with the count and the floor',
    entry({ name: 'error-rate', value: 0.0012, max: 0.005, verdict: 'nodata', samples: 412, minSamples: 500, reason: '412 samples in the window, 500 needed' }),
    'error-rate nodata: 412 samples in the window, 500 needed',
  ],
  [
    'floor: the count rounded down, as the reason says (499.6 samples are not 500)',
    entry({ name: 'error-rate', value: 0.0012, verdict: 'nodata', samples: 499.6, minSamples: 500, reason: '499 samples in the window, 500 needed' }),
    'error-rate nodata: 499 samples in the window, 500 needed',
  ],
  [
    'floor: above it, the value, its thresholds and the evidence',
    entry({ name: 'error-rate', value: 0.0012, max: 0.005, verdict: 'pass', samples: 5120, minSamples: 500 }),
    'error-rate pass: 0.0012 (max 0.005), 5,120 samples (floor 500)',
  ],
  [
    'floor: the samples query had no data',
    entry({ name: 'error-rate', value: 0.0012, verdict: 'nodata', samples: null, minSamples: 500, reason: 'samples: empty result' }),
    'error-rate nodata: samples: empty result',
  ],
  [
    'relative: within the bound, with baseline, ratio, tolerance, slack and the absolute bound',
    entry({ name: 'p99', value: 0.31, verdict: 'pass', baseline: 0.3, bound: 0.36, ratio: 1.0333, tolerance: 0.2, slack: 0.005, max: 0.5 }),
    'p99 pass: 0.31 < bound 0.36 (baseline 0.3 x1.03, tolerance 20%, slack 0.005, max 0.5)',
  ],
  [
    'relative: numbers that differ never look equal',
    entry({ name: 'p99', value: 0.3604, verdict: 'fail', baseline: 0.3, bound: 0.3601, ratio: 1.2013, tolerance: 0.2 }),
    'p99 fail: 0.3604 > bound 0.3601 (baseline 0.3 x1.20, tolerance 20%)',
  ],
  [
    'relative: the absolute bound that broke is named',
    entry({ name: 'p99', value: 0.6, verdict: 'fail', baseline: 0.5, bound: 0.7, ratio: 1.2, tolerance: 0.4, max: 0.5 }),
    'p99 fail: 0.6 < bound 0.7, > max 0.5 (baseline 0.5 x1.20, tolerance 40%)',
  ],
  [
    'relative: baseline 0 has no ratio',
    entry({ name: 'errors', value: 0.001, verdict: 'fail', baseline: 0, bound: 0, ratio: null, tolerance: 0.2 }),
    'errors fail: 0.001 > bound 0 (baseline 0, tolerance 20%)',
  ],
  [
    'relative: worse lower, slack alone',
    entry({ name: 'success', value: 0.97, verdict: 'fail', baseline: 0.999, bound: 0.989, ratio: 0.971, slack: 0.01 }),
    'success fail: 0.97 < bound 0.989 (baseline 0.999 x0.971, slack 0.01)',
  ],
  [
    'relative: a baseline with no data',
    entry({ name: 'p99', value: 0.31, verdict: 'nodata', baseline: null, tolerance: 0.2, reason: 'baseline: empty result' }),
    'p99 nodata: baseline: empty result',
  ],
  [
    'sequential: a proven regression',
    entry({
      name: 'errors-vs-stable', value: 41 / 1950, verdict: 'fail', test: 'sequential',
      x: 41, n_c: 1950, y: 380, n_b: 38100, canaryRate: 41 / 1950, baselineRate: 380 / 38100, ratio: 2.108,
      e: 143.2, logE: Math.log(143.2), threshold: 100, alpha: 0.01, interval: { lower: 1.42, upper: 3.05 }, samples: 1950, minSamples: 1000,
    }),
    'errors-vs-stable fail: e 143 >= 100, canary 2.1% (41/1,950) vs baseline 0.997% (380/38,100), x2.11 [1.42, 3.05]',
  ],
  [
    'sequential: an e-value beyond a double, from its log; an unbounded side; the tolerance',
    entry({
      name: 'errors-vs-stable', value: 0.021, verdict: 'fail', test: 'sequential',
      x: 4100, n_c: 195000, y: 380, n_b: 38100, canaryRate: 0.021, baselineRate: 0.00997, ratio: 2.108,
      e: Number.MAX_VALUE, logE: 1000, threshold: 100, alpha: 0.01, interval: { lower: 1.9, upper: null }, tolerance: 0.1,
    }),
    'errors-vs-stable fail: e 1.97e+434 >= 100, canary 2.1% (4,100/195,000) vs baseline 0.997% (380/38,100), x2.11 [1.9, ∞], tolerance 10%',
  ],
  [
    'sequential: a large e-value in exponent form',
    entry({ name: 'errs', value: 0.05, verdict: 'fail', test: 'sequential', x: 500, n_c: 10000, y: 100, n_b: 10000, canaryRate: 0.05, baselineRate: 0.01, ratio: 5, e: 1.2e45, threshold: 1000 }),
    'errs fail: e 1.2e+45 >= 1000, canary 5% (500/10,000) vs baseline 1% (100/10,000), x5.00',
  ],
  [
    'sequential: below the floor, the floor first, then the evidence so far',
    entry({
      name: 'errors-vs-stable', value: 0, verdict: 'nodata', test: 'sequential',
      x: 0, n_c: 412, y: 3, n_b: 8000, canaryRate: 0, baselineRate: 3 / 8000, ratio: 0,
      e: 0.4, threshold: 100, interval: { lower: null, upper: 12 }, samples: 412, minSamples: 1000, reason: '412 canary requests in the phase, 1000 needed',
    }),
    'errors-vs-stable nodata: 412 canary requests in the phase, 1,000 needed; e 0.4 < 100, canary 0% (0/412) vs baseline 0.0375% (3/8,000), x0.00 [0, 12]',
  ],
  [
    'sequential: a query with no data',
    entry({ name: 'errors-vs-stable', value: null, verdict: 'nodata', test: 'sequential', reason: 'canary total: empty result' }),
    'errors-vs-stable nodata: canary total: empty result',
  ],
  [
    'sequential: require proof, not proven yet (hold); no baseline errors (no ratio)',
    entry({
      name: 'errors-vs-stable', value: 0.001, verdict: 'hold', test: 'sequential',
      x: 1, n_c: 1000, y: 0, n_b: 10000, canaryRate: 0.001, baselineRate: 0, ratio: null, e: 0.2, eProof: 12.5, threshold: 100,
    }),
    'errors-vs-stable hold: e 0.2 < 100, proof e 12.5 < 100, canary 0.1% (1/1,000) vs baseline 0% (0/10,000)',
  ],
  [
    'sequential: an e-value just below its threshold does not look like it',
    entry({ name: 'errs', value: 0.02, verdict: 'pass', test: 'sequential', x: 20, n_c: 1000, y: 10, n_b: 1000, canaryRate: 0.02, baselineRate: 0.01, ratio: 2, e: 99.96, threshold: 100 }),
    'errs pass: e 99.96 < 100, canary 2% (20/1,000) vs baseline 1% (10/1,000), x2.00',
  ],
  [
    'mann-whitney: a shift above the effect floor',
    entry({
      name: 'latency-shift', value: 0.31, verdict: 'fail', test: 'mann-whitney',
      points: { canary: 38, baseline: 40 }, dropped: { canary: 2, baseline: 0 }, canaryMedian: 0.31, baselineMedian: 0.27,
      estimate: 0.042, interval: { lower: 0.031, upper: 0.055 }, u: 1400, pValue: 3e-9, level: 0.995, effectFloor: 0.012, minSamples: 20,
    }),
    'latency-shift fail: shift +0.042 [0.031, 0.055] > floor 0.012, p 3e-9, points 38/40 (2 NaN dropped), level 0.995',
  ],
  [
    'mann-whitney: a pass, at a Bonferroni level',
    entry({
      name: 'latency-shift', value: 0.27, verdict: 'pass', test: 'mann-whitney', points: { canary: 40, baseline: 40 }, dropped: { canary: 0, baseline: 0 },
      estimate: 0.002, interval: { lower: -0.01, upper: 0.013 }, u: 800, pValue: 0.41, level: 1 - 0.02 / 6, effectFloor: 0.012,
    }),
    'latency-shift pass: shift +0.002 [-0.01, 0.013], floor 0.012, p 0.41, points 40/40, level 0.9967',
  ],
  [
    'mann-whitney: worse lower',
    entry({ name: 'throughput', value: 90, verdict: 'fail', test: 'mann-whitney', points: { canary: 40, baseline: 40 }, estimate: -12, interval: { lower: -15, upper: -9 }, pValue: 1e-5, level: 0.99, effectFloor: 5 }),
    'throughput fail: shift -12 [-15, -9] < floor -5, p 1e-5, points 40/40, level 0.99',
  ],
  [
    'mann-whitney: too few points',
    entry({ name: 'latency-shift', value: null, verdict: 'nodata', test: 'mann-whitney', points: { canary: 12, baseline: 40 }, dropped: { canary: 3, baseline: 0 }, estimate: null, minSamples: 20 }),
    'latency-shift nodata: points 12/40 (3 NaN dropped), 20 needed per side',
  ],
  [
    'mann-whitney: a range query that failed',
    entry({ name: 'latency-shift', value: null, verdict: 'nodata', test: 'mann-whitney', reason: 'baseline: HTTP 503' }),
    'latency-shift nodata: baseline: HTTP 503',
  ],
];

describe('formatJudgement', () => {
  it.each(CASES)('%s', (_title, m, line) => {
    expect(formatJudgement(m)).toBe(line);
    expect(formatMetric(m)).toBe(line);
    expect(formatBreach(m)).toBe(line);
  });

  it('knows the judge of each entry by its fields', () => {
    expect(CASES.map(([, m]) => judgeOf(m))).toEqual([
      'floor', 'floor', 'floor', 'floor', 'relative', 'relative', 'relative', 'relative', 'relative', 'relative',
      'sequential', 'sequential', 'sequential', 'sequential', 'sequential', 'sequential', 'sequential',
      'mann-whitney', 'mann-whitney', 'mann-whitney', 'mann-whitney', 'mann-whitney',
    ]);
  });

  it('a plain threshold entry is not a judged one: its text is unchanged', () => {
    const plain = entry({ name: 'error-rate', value: 0.012, max: 0.005, verdict: 'fail' });
    expect(isJudged(plain)).toBe(false);
    expect(judgeFields(plain)).toEqual({});
    expect(formatMetric(plain)).toBe('error-rate=0.012 (max 0.005) fail');
    expect(formatBreach(plain)).toBe('error-rate=0.012 > 0.005');
  });

  it('JUDGE_FIELDS are every field of a metric entry beyond the absolute thresholds', () => {
    const plain = ['name', 'query', 'value', 'min', 'max', 'rollbackBelow', 'rollbackAbove', 'verdict', 'critical', 'weight', 'reason', 'problem'];
    expect([...JUDGE_FIELDS].sort()).toEqual(Object.keys(metricResultSchema.shape).filter((k) => !plain.includes(k)).sort());
  });

  it('never prints the query, NaN or undefined, whatever numbers an entry holds', () => {
    const n = fc.oneof(fc.double(), fc.constant(Number.NaN), fc.constant(Infinity), fc.constant(-Infinity), fc.constant(Number.MAX_VALUE), fc.integer());
    const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
    const nullable = (a: fc.Arbitrary<number>) => fc.oneof(a, fc.constant(null));
    const interval = fc.record({ lower: nullable(n), upper: nullable(n) });
    const sides = fc.record({ canary: fc.nat(), baseline: fc.nat() });
    const arb = fc.record({
      name: fc.constantFrom('errors', 'p99'),
      value: nullable(n),
      verdict: fc.constantFrom('pass', 'hold', 'fail', 'nodata' as const),
      max: opt(n),
      min: opt(n),
      reason: opt(fc.constantFrom('empty result', 'HTTP 503')),
      test: opt(fc.constantFrom('sequential', 'mann-whitney' as const)),
      samples: opt(nullable(n)),
      minSamples: opt(n),
      baseline: opt(nullable(n)),
      bound: opt(n),
      ratio: opt(nullable(n)),
      tolerance: opt(n),
      slack: opt(n),
      x: opt(fc.nat()),
      n_c: opt(fc.nat()),
      y: opt(fc.nat()),
      n_b: opt(fc.nat()),
      canaryRate: opt(nullable(n)),
      baselineRate: opt(nullable(n)),
      e: opt(n),
      logE: opt(n),
      eProof: opt(n),
      threshold: opt(n),
      interval: opt(interval),
      points: opt(sides),
      dropped: opt(sides),
      estimate: opt(nullable(n)),
      pValue: opt(n),
      level: opt(n),
      effectFloor: opt(n),
    });
    fc.assert(
      fc.property(arb, (fields) => {
        const m = { ...base, ...fields } as MetricResult;
        const text = formatJudgement(m);
        // `2 NaN dropped` is the one NaN a line may say: the points a series did not have.
        expect(text).not.toMatch(/NaN(?! dropped)|undefined|null|s3cr3t|rate\(/);
        expect(text.startsWith(`${m.name} ${m.verdict}: `)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});
