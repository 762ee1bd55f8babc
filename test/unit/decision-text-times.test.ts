/**
 * The terminal text of a decision (`history`, `simulate --output text`): how late a checkpoint
 * was judged (the JSON's `checkpoint.lateSeconds`), and the next action's time without
 * milliseconds.
 */
import { describe, expect, it } from 'vitest';
import type { DecisionRecord } from '../../src/core/record.js';
import { formatDecisionText } from '../../src/observe/decision-text.js';

function checkpoint(lateSeconds: number | undefined): DecisionRecord {
  return {
    seq: 16,
    rollout: 'shop/checkout',
    revision: 'r2',
    planHash: 'sha256:0',
    kind: 'checkpoint',
    phase: 'ramp-50',
    phaseIndex: 2,
    checkpoint: { index: 2, of: 3, due: '2026-12-02T08:00:00.000Z', window: '30m', ...(lateSeconds !== undefined ? { lateSeconds } : {}) },
    at: '2026-12-02T08:00:48.120Z',
    decision: 'continue',
    reason: '1/1 metrics pass',
    weight: { from: 50, to: 50 },
    mirror: { from: 0, to: 0 },
    actor: 'controller',
    next: { what: 'checkpoint 3/3 of ramp-50', at: '2026-12-02T08:30:00.000Z' },
  };
}

describe('formatDecisionText: lateness and times', () => {
  it('says how late a checkpoint was judged, from lateSeconds', () => {
    expect(formatDecisionText(checkpoint(48))).toBe(
      '2026-12-02T08:00:48.120Z shop/checkout #16 checkpoint 2/3 of ramp-50: continue — 1/1 metrics pass; weight 50, judged 48 s late, next checkpoint 3/3 of ramp-50 at 2026-12-02T08:30Z',
    );
    expect(formatDecisionText(checkpoint(3 * 3600 + 125))).toContain('judged 3h2m late');
  });

  it('says nothing of lateness under a second or when the record has none', () => {
    expect(formatDecisionText(checkpoint(0))).not.toContain('late');
    expect(formatDecisionText(checkpoint(undefined))).not.toContain('late');
  });
});
