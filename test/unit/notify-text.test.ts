import { describe, expect, it } from 'vitest';
import type { DecisionRecord } from '../../src/core/record.js';
import { notifySummary } from '../../src/observe/notify-text.js';

function record(over: Partial<DecisionRecord> = {}): DecisionRecord {
  return {
    seq: 9,
    rollout: 'learning/analyzer',
    revision: '2025.11.1',
    planHash: 'sha256:1',
    kind: 'checkpoint',
    phase: 'ramp',
    phaseIndex: 1,
    checkpoint: { index: 3, of: 6, due: '2025-11-01T15:30:00Z', window: '30m' },
    at: '2025-11-01T15:30:00.200Z',
    decision: 'rollback',
    reason: 'critical metric failed',
    score: 40,
    metrics: [
      { name: 'error-rate', query: 'q', value: 0.012, max: 0.005, verdict: 'fail', critical: true },
      { name: 'latency-p99', query: 'q', value: 0.2, max: 0.3, verdict: 'pass', critical: false },
    ],
    weight: { from: 10, to: 0 },
    mirror: { from: 0, to: 0 },
    actor: 'controller',
    ...over,
  };
}

describe('webhook summaries', () => {
  it('a rollback names the breached threshold', () => {
    expect(notifySummary(record())).toBe(':rotating_light: learning/analyzer rolled back at ramp: error-rate=0.012 > 0.005');
  });

  it('a gradual rollback step shows the split', () => {
    expect(notifySummary(record({ weight: { from: 50, to: 25 } }))).toBe(
      ':rotating_light: learning/analyzer rolling back at ramp, weight 50→25: error-rate=0.012 > 0.005',
    );
  });

  it('lower bounds and nodata are explained too', () => {
    const text = notifySummary(
      record({
        decision: 'pause',
        metrics: [
          { name: 'success', query: 'q', value: 0.9, rollbackBelow: 0.95, verdict: 'fail', critical: true },
          { name: 'p99', query: 'q', value: null, verdict: 'nodata', critical: false, reason: 'empty result' },
        ],
      }),
    );
    expect(text).toBe(':double_vertical_bar: learning/analyzer paused at ramp: success=0.9 &lt; 0.95, p99=nodata (empty result)');
  });

  it("a metric judged by a test or a baseline is explained by the judge's numbers", () => {
    const text = notifySummary(
      record({
        kind: 'guard',
        checkpoint: undefined,
        metrics: [
          {
            name: 'errors-vs-stable', query: 'sum(increase(x[20m]))', value: 0.021, verdict: 'fail', critical: true, test: 'sequential',
            x: 41, n_c: 1950, y: 380, n_b: 38100, canaryRate: 41 / 1950, baselineRate: 380 / 38100, ratio: 2.108, e: 143.2, threshold: 100, interval: { lower: 1.42, upper: 3.05 },
          },
          { name: 'p99', query: 'q', value: 0.41, verdict: 'fail', critical: true, baseline: 0.3, bound: 0.36, ratio: 1.367, tolerance: 0.2 },
          { name: 'latency-p99', query: 'q', value: 0.2, max: 0.3, verdict: 'pass', critical: false },
        ],
      }),
    );
    expect(text).toBe(
      ':rotating_light: learning/analyzer rolled back at ramp: errors-vs-stable fail: e 143 >= 100, canary 2.1% (41/1,950) vs baseline 0.997% (380/38,100), x2.11 [1.42, 3.05], ' +
        'p99 fail: 0.41 > bound 0.36 (baseline 0.3 x1.37, tolerance 20%)',
    );
  });

  it('a completion names the revision; manual decisions their actor and reason', () => {
    expect(notifySummary(record({ decision: 'complete', metrics: [], reason: 'all phases passed', weight: { from: 50, to: 100 } }))).toBe(
      ':white_check_mark: learning/analyzer completed 2025.11.1 (weight 100): all phases passed',
    );
    expect(notifySummary(record({ kind: 'manual', checkpoint: undefined, decision: 'abort', actor: 'alice', reason: 'bad release', metrics: undefined }))).toBe(
      ':octagonal_sign: learning/analyzer aborted at ramp by alice: bad release',
    );
  });

  it('record text cannot ping a channel', () => {
    const text = notifySummary(record({ decision: 'pause', kind: 'manual', metrics: undefined, actor: 'mallory', reason: '<!channel> & co' }));
    expect(text).not.toContain('<!channel>');
    expect(text).toContain('&lt;!channel>');
    expect(text).toContain('&amp; co');
  });
});
