/**
 * Verdicts and checkpoint outcomes, row by row of docs/plan-reference.md (metrics, analysis, guard).
 */
import { describe, expect, it } from 'vitest';
import { checkpointVerdict, guardVerdict } from '../../src/gates/verdict.js';
import { checkpointOutcome, type JudgedMetric } from '../../src/gates/outcome.js';

describe('checkpoint verdicts', () => {
  it.each([
    // value, thresholds, verdict
    [0.004, { max: 0.005 }, 'pass'],
    [0.005, { max: 0.005 }, 'pass'],
    [0.006, { max: 0.005 }, 'fail'],
    [0.99, { min: 0.95 }, 'pass'],
    [0.9, { min: 0.95 }, 'fail'],
    [0.5, { min: 0.1, max: 1 }, 'pass'],
    [0.007, { max: 0.005, rollbackAbove: 0.01 }, 'hold'],
    [0.01, { max: 0.005, rollbackAbove: 0.01 }, 'hold'],
    [0.02, { max: 0.005, rollbackAbove: 0.01 }, 'fail'],
    [0.92, { min: 0.95, rollbackBelow: 0.9 }, 'hold'],
    [0.85, { min: 0.95, rollbackBelow: 0.9 }, 'fail'],
    [0.006, { max: 0.005, rollbackBelow: 0.001 }, 'fail'], // only the upper side would hold
    [null, { max: 0.005 }, 'nodata'],
    [Number.NaN, { max: 0.005 }, 'nodata'],
    [Number.POSITIVE_INFINITY, { max: 0.005 }, 'nodata'],
  ] as const)('%s against %j is %s', (value, t, verdict) => {
    expect(checkpointVerdict(value, t)).toBe(verdict);
  });
});

describe('guard verdicts fail only on evidence, against rollbackAbove/Below where set', () => {
  it.each([
    [0.007, { max: 0.005, rollbackAbove: 0.01 }, 'pass'],
    [0.011, { max: 0.005, rollbackAbove: 0.01 }, 'fail'],
    [0.006, { max: 0.005 }, 'fail'],
    [0.92, { min: 0.95, rollbackBelow: 0.9 }, 'pass'],
    [0.89, { min: 0.95, rollbackBelow: 0.9 }, 'fail'],
    [null, { max: 0.005 }, 'nodata'],
  ] as const)('%s against %j is %s', (value, t, verdict) => {
    expect(guardVerdict(value, t)).toBe(verdict);
  });
});

const m = (name: string, verdict: JudgedMetric['verdict'], extra: Partial<JudgedMetric> = {}): JudgedMetric => ({
  name,
  verdict,
  critical: false,
  weight: 1,
  noData: 'inconclusive',
  why: verdict,
  ...extra,
});

describe('checkpoint outcome without a score', () => {
  it.each([
    ['every metric passes', [m('a', 'pass'), m('b', 'pass')], 'pass'],
    ['any fail rolls back', [m('a', 'pass'), m('b', 'fail')], 'fail'],
    ['a fail beats missing data', [m('a', 'nodata'), m('b', 'fail')], 'fail'],
    ['missing data is inconclusive', [m('a', 'pass'), m('b', 'nodata')], 'inconclusive'],
    ['a hold is inconclusive', [m('a', 'pass'), m('b', 'hold')], 'inconclusive'],
    ['noData: fail turns missing data into a fail', [m('a', 'pass'), m('b', 'nodata', { noData: 'fail' })], 'fail'],
  ] as const)('%s', (_name, metrics, outcome) => {
    expect(checkpointOutcome([...metrics], {}).outcome).toBe(outcome);
  });
});

describe('checkpoint outcome with a score {pass: 95, caution: 90}', () => {
  const score = { score: { pass: 95, caution: 90 } };
  it.each([
    ['100: GO', [m('a', 'pass', { weight: 19 }), m('b', 'pass')], 'pass', 100],
    ['95: GO', [m('a', 'pass', { weight: 19 }), m('b', 'fail')], 'pass', 95],
    ['90: GO WITH CAUTION', [m('a', 'pass', { weight: 9 }), m('b', 'hold')], 'caution', 90],
    ['50: NO-GO', [m('a', 'pass'), m('b', 'fail')], 'fail', 50],
    ['a failing critical metric is NO-GO whatever the score', [m('a', 'pass', { weight: 99 }), m('b', 'fail', { critical: true })], 'fail', null],
    ['missing data is inconclusive, never scored', [m('a', 'pass', { weight: 99 }), m('b', 'nodata')], 'inconclusive', null],
    ['critical nodata under noData: fail is NO-GO', [m('a', 'pass', { weight: 99 }), m('b', 'nodata', { critical: true, noData: 'fail' })], 'fail', null],
  ] as const)('%s', (_name, metrics, outcome, value) => {
    const o = checkpointOutcome([...metrics], score);
    expect(o.outcome).toBe(outcome);
    expect(o.score).toBe(value);
  });
});
