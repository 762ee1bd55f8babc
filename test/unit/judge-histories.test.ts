/**
 * The judges benchmark's generated histories (src/devtools/judge-histories.ts) and the
 * in-memory provider that serves them (src/devtools/history-provider.ts): the Poisson sampler
 * has the right mean and variance on both of its paths, a seed reproduces a history, each
 * hardship does what it says and nothing else, and the provider answers the benchmark's
 * queries with exact increases.
 */
import { describe, expect, it } from 'vitest';
import { generateHistory, poisson, seededRandom, STEP_MS, type Scenario } from '../../src/devtools/judge-histories.js';
import { HistoryProvider } from '../../src/devtools/history-provider.js';

const HOUR = 3_600_000;
const scenario = (over: Partial<Scenario> = {}): Scenario => ({ baseRate: 0.01, canaryRps: 10, split: 25, phaseMs: HOUR, hardship: { kind: 'none' }, ...over });

function moments(xs: number[]): { mean: number; variance: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return { mean, variance: xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1) };
}

/** Counts over the steps [from, to) of a cumulative series. */
const between = (cum: Float64Array, fromMs: number, toMs: number) => cum[toMs / STEP_MS]! - cum[fromMs / STEP_MS]!;

describe('poisson', () => {
  it.each([0.3, 4, 25, 9500])('mean %d: sample mean and variance within 5 standard errors', (mean) => {
    const random = seededRandom(7);
    const n = 20_000;
    const xs = Array.from({ length: n }, () => poisson(mean, random));
    const m = moments(xs);
    expect(xs.every((x) => Number.isInteger(x) && x >= 0)).toBe(true);
    expect(Math.abs(m.mean - mean)).toBeLessThan(5 * Math.sqrt(mean / n));
    // The variance of a sample variance of a Poisson is about (mean + 2 mean^2) / n.
    expect(Math.abs(m.variance - mean)).toBeLessThan(5 * Math.sqrt((mean + 2 * mean * mean) / n));
  });

  it('matches the Poisson probabilities of 0, 1 and 2 at mean 1.5', () => {
    const random = seededRandom(11);
    const n = 50_000;
    const counts = [0, 0, 0];
    for (let i = 0; i < n; i++) {
      const k = poisson(1.5, random);
      if (k < 3) counts[k]!++;
    }
    const p = [Math.exp(-1.5), 1.5 * Math.exp(-1.5), (1.5 ** 2 / 2) * Math.exp(-1.5)];
    counts.forEach((c, k) => expect(Math.abs(c / n - p[k]!)).toBeLessThan(5 * Math.sqrt((p[k]! * (1 - p[k]!)) / n)));
  });
});

describe('generateHistory', () => {
  it('is the same history for the same seed, another for another seed', () => {
    const a = generateHistory(scenario(), 1);
    expect(generateHistory(scenario(), 1)).toEqual(a);
    expect(generateHistory(scenario(), 2).canaryTotal).not.toEqual(a.canaryTotal);
  });

  it('gives the canary its requests per second and the stable track the rest at the split, both at the base error rate', () => {
    const h = generateHistory(scenario({ canaryRps: 100, split: 5 }), 3);
    expect(h.steps).toBe(720);
    expect(h.onsetMs).toBeNull();
    const canary = h.canaryTotal[h.steps]!;
    const stable = h.stableTotal[h.steps]!;
    expect(Math.abs(canary - 360_000)).toBeLessThan(5 * Math.sqrt(360_000));
    expect(Math.abs(stable - 360_000 * 19)).toBeLessThan(5 * Math.sqrt(360_000 * 19));
    expect(Math.abs(h.canaryBad[h.steps]! / canary - 0.01)).toBeLessThan(0.001);
    expect(Math.abs(h.stableBad[h.steps]! / stable - 0.01)).toBeLessThan(0.0003);
    for (let i = 1; i <= h.steps; i++) expect(h.canaryBad[i]! - h.canaryBad[i - 1]!).toBeLessThanOrEqual(h.canaryTotal[i]! - h.canaryTotal[i - 1]!);
  });

  it('multiplies the canary error rate from an onset in the first half of the phase', () => {
    const onsets: number[] = [];
    for (let seed = 0; seed < 40; seed++) {
      const h = generateHistory(scenario({ canaryRps: 100, hardship: { kind: 'regression', factor: 5 } }), seed);
      onsets.push(h.onsetMs!);
      expect(h.onsetMs! % STEP_MS).toBe(0);
      const before = between(h.canaryBad, 0, h.onsetMs!) / between(h.canaryTotal, 0, h.onsetMs!);
      const after = between(h.canaryBad, h.onsetMs!, HOUR) / between(h.canaryTotal, h.onsetMs!, HOUR);
      if (h.onsetMs! >= 600_000) expect(before).toBeLessThan(0.02);
      expect(after).toBeGreaterThan(0.04);
      expect(between(h.stableBad, h.onsetMs!, HOUR) / between(h.stableTotal, h.onsetMs!, HOUR)).toBeLessThan(0.012);
    }
    expect(Math.min(...onsets)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...onsets)).toBeLessThan(HOUR / 2);
    expect(new Set(onsets).size).toBeGreaterThan(30);
  });

  it('stops the canary traffic for 20 minutes and leaves the stable track as it was', () => {
    const h = generateHistory(scenario({ hardship: { kind: 'canary-stop', durationMs: 1_200_000 } }), 5);
    let zeroSteps = 0;
    for (let i = 1; i <= h.steps; i++) {
      if (h.canaryTotal[i] === h.canaryTotal[i - 1]) zeroSteps++;
      expect(h.stableTotal[i]! - h.stableTotal[i - 1]!).toBeGreaterThan(0);
    }
    // 240 steps of the stop, plus the rare quiet step at 50 requests per step.
    expect(zeroSteps).toBeGreaterThanOrEqual(240);
    expect(zeroSteps).toBeLessThan(245);
  });

  it('raises both tracks\' error rates together in an incident and a diurnal swing', () => {
    for (const hardship of [{ kind: 'incident', factor: 5, durationMs: 600_000 }, { kind: 'diurnal', factor: 3 }] as const) {
      const h = generateHistory(scenario({ canaryRps: 100, split: 50, hardship }), 9);
      const canary = h.canaryBad[h.steps]! / h.canaryTotal[h.steps]!;
      const stable = h.stableBad[h.steps]! / h.stableTotal[h.steps]!;
      expect(canary).toBeGreaterThan(0.015);
      expect(Math.abs(canary / stable - 1)).toBeLessThan(0.05);
    }
  });
});

describe('HistoryProvider', () => {
  const START = Date.parse('2026-01-05T10:00:00Z');
  const h = generateHistory(scenario(), 4);
  const p = new HistoryProvider(h, START);
  const at = START + 30 * 60_000;
  const i = (30 * 60_000) / STEP_MS;

  it('answers increase, rate and ratio queries with exact increases over the window', async () => {
    expect(await p.instant('sum(increase(http_requests_total{track="canary"}[15m]))', at)).toEqual({ value: h.canaryTotal[i]! - h.canaryTotal[i - 180]! });
    expect(await p.instant('sum(increase(http_requests_total{track="stable",code=~"5.."}[30m]))', at)).toEqual({ value: h.stableBad[i]! });
    const ratio = await p.instant('sum(rate(http_requests_total{track="canary",code=~"5.."}[1m])) / sum(rate(http_requests_total{track="canary"}[1m]))', at);
    expect(ratio).toEqual({ value: (h.canaryBad[i]! - h.canaryBad[i - 12]!) / (h.canaryTotal[i]! - h.canaryTotal[i - 12]!) });
    expect(await p.instant('sum(rate(http_requests_total{track="canary"}[1m]))', at)).toEqual({ value: (h.canaryTotal[i]! - h.canaryTotal[i - 12]!) / 60 });
  });

  it('takes the counters as 0 before the phase, and the step at or before an instant between steps', async () => {
    expect(await p.instant('sum(increase(http_requests_total{track="canary"}[2h]))', at)).toEqual({ value: h.canaryTotal[i]! });
    expect(await p.instant('sum(increase(http_requests_total{track="canary"}[1m]))', at + 4_999)).toEqual({ value: h.canaryTotal[i]! - h.canaryTotal[i - 12]! });
  });

  it('answers 0/0 as NaN nodata, and a range query point by point', async () => {
    const q = 'sum(increase(http_requests_total{track="canary",code=~"5.."}[30s])) / sum(increase(http_requests_total{track="canary"}[30s]))';
    expect(await p.instant(q, START)).toEqual({ value: null, reason: 'NaN' });
    const points = await p.range(q, START + 60_000, START + 180_000, 30_000);
    expect([...points.keys()]).toEqual([60_000, 90_000, 120_000, 150_000, 180_000].map((t) => START + t));
    for (const [t, s] of points) expect(s).toEqual(await p.instant(q, t));
  });

  it('throws on a query the benchmark does not use', async () => {
    await expect(p.instant('sum(rate(other_total[1m]))', at)).rejects.toThrow(/does not know the query/);
  });
});
