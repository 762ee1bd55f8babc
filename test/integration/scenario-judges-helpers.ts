/**
 * Shared pieces of the judges' scenarios (scenario-judges-*.test.ts): the metric definitions
 * of analysis.md over the two-track series of test/helpers/two-track-history.ts, and the
 * numbers a record must carry, computed from the history's ledger rather than asked of
 * Prometheus.
 */
import { expect } from 'vitest';
import type { MetricResult } from '../../src/core/record.js';
import type { Track, TwoTrackLedger } from '../helpers/two-track-history.js';
import { logEByIntegral } from '../helpers/e-value.js';

const requests = (track: Track, errors: boolean) => `http_requests_total{app="{{app}}",track="${track}"${errors ? ',code=~"5.."' : ''}}`;

/** One track's error ratio over `{{window}}`. */
export const errorRatio = (track: Track) => `sum(rate(${requests(track, true)}[{{window}}])) / sum(rate(${requests(track, false)}[{{window}}]))`;

/** One track's request count over `{{window}}`. */
export const requestCount = (track: Track) => `sum(increase(${requests(track, false)}[{{window}}]))`;

const errorCount = (track: Track) => `sum(increase(${requests(track, true)}[{{window}}]))`;

/** A plan's `counts:` block (YAML flow style) for both tracks. */
export const COUNTS = `{ canary: { bad: '${errorCount('canary')}', total: '${requestCount('canary')}' }, baseline: { bad: '${errorCount('stable')}', total: '${requestCount('stable')}' } }`;

/** A track's error ratio as the `errorRatio` query answers it at `at` over `windowMs`. */
export function ratioOf(ledger: TwoTrackLedger, track: Track, at: number, windowMs: number): number {
  return ledger.increase(track, 'bad', at, windowMs)! / ledger.increase(track, 'total', at, windowMs)!;
}

export interface PhaseCounts {
  x: number;
  n_c: number;
  y: number;
  n_b: number;
}

/** The cumulative counts of the phase whose split was applied at `splitAt`, as the sequential judge rounds them at `at`. */
export function phaseCounts(ledger: TwoTrackLedger, splitAt: number, at: number): PhaseCounts {
  const count = (track: Track, what: 'bad' | 'total') => Math.round(ledger.increase(track, what, at, at - splitAt)!);
  return { x: count('canary', 'bad'), n_c: count('canary', 'total'), y: count('stable', 'bad'), n_b: count('stable', 'total') };
}

/**
 * A sequential metric's entry carries the phase's counts, both rates and their ratio, the
 * e-value (checked against the numerical integral), the threshold 1/alpha, alpha and the
 * tolerance.
 */
export function expectSequentialNumbers(m: MetricResult, counts: PhaseCounts, s: { alpha: number; tolerance: number }): void {
  expect(m).toMatchObject({ test: 'sequential', ...counts, threshold: 1 / s.alpha, alpha: s.alpha, tolerance: s.tolerance });
  expect(m.value).toBeCloseTo(counts.x / counts.n_c, 12);
  expect(m.canaryRate).toBeCloseTo(counts.x / counts.n_c, 12);
  expect(m.baselineRate).toBeCloseTo(counts.y / counts.n_b, 12);
  expect(m.ratio).toBeCloseTo(counts.x / counts.n_c / (counts.y / counts.n_b), 9);
  const logE = logEByIntegral(counts, s.tolerance);
  expect(m.logE!).toBeCloseTo(logE, 3);
  if (logE < Math.log(Number.MAX_VALUE)) expect(Math.log(m.e!)).toBeCloseTo(logE, 3);
  else expect(m.e).toBe(Number.MAX_VALUE);
}

/** The phases of most judges' scenarios: a 10% canary judged at 30m and 1h, then a 50% ramp judged at 30m. */
export const CANARY_RAMP = `
  phases:
    - { name: canary, weight: 10, checkpoints: [30m, 1h] }
    - { name: ramp, weight: 50, checkpoints: [30m] }
`;

/** The plain metric `error-rate`: the canary's error ratio under `max`; `extra`: more of its fields, as YAML lines. */
export const errorRateMetric = (max: number, extra = '') => `
    - name: error-rate
      query: '${errorRatio('canary')}'
      max: ${max}${extra}
      critical: true`;

/** The sequential metric `errors-vs-stable` on both tracks' counts; `settings`: alpha, tolerance… as YAML lines. */
export const errorsVsStableMetric = (settings = '') => `
    - name: errors-vs-stable
      counts: ${COUNTS}
      test: sequential${settings}
      critical: true`;

/** A judges' scenario spec for app `api`: its metrics (the metric functions above), its guard (YAML flow), then `rest` (phases…). */
export const judgesSpec = (metrics: string, guard: string, rest = CANARY_RAMP) => `
  vars: { app: api }
  metrics:${metrics}
  guard: ${guard}
${rest}`;
