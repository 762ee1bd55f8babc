/**
 * One run of the judges benchmark (src/devtools/judge-run.ts) goes through the engine's own
 * decisions: the guard's strikes and `consecutive`, the checkpoints of the phase's schedule,
 * and a judge stops at its rollback while the others go on. Histories are written by hand so
 * every instant is known.
 */
import { describe, expect, it } from 'vitest';
import { STEP_MS, type History } from '../../src/devtools/judge-histories.js';
import { HistoryProvider } from '../../src/devtools/history-provider.js';
import { judgesPlan, PHASE_MS, PHASE_START } from '../../src/devtools/judge-grid.js';
import { runJudges } from '../../src/devtools/judge-run.js';

/** 100 canary and 100 stable requests per step; the canary's errors per step from `canaryBad(step)`. */
function history(canaryBad: (step: number) => number): History {
  const steps = PHASE_MS / STEP_MS;
  const h: History = {
    steps,
    canaryTotal: new Float64Array(steps + 1),
    canaryBad: new Float64Array(steps + 1),
    stableTotal: new Float64Array(steps + 1),
    stableBad: new Float64Array(steps + 1),
    onsetMs: null,
  };
  for (let i = 1; i <= steps; i++) {
    h.canaryTotal[i] = h.canaryTotal[i - 1]! + 100;
    h.stableTotal[i] = h.stableTotal[i - 1]! + 100;
    h.canaryBad[i] = h.canaryBad[i - 1]! + canaryBad(i);
    h.stableBad[i] = h.stableBad[i - 1]!;
  }
  return h;
}

const fixedOnly = { judges: ['fixed'] as const, sequentialTolerance: 0.1 };

describe('runJudges', () => {
  it('rolls the fixed threshold back at the second failing guard tick (consecutive 2), not at the first', async () => {
    // Every request of the step that ends at 10m05s fails: the 1m window holds 100 bad of 1,200.
    const onsetStep = (10 * 60_000) / STEP_MS + 1;
    const ctx = judgesPlan(0.01, 50, fixedOnly);
    const out = await runJudges(ctx, new HistoryProvider(history((i) => (i >= onsetStep ? 100 : 0)), PHASE_START), PHASE_START, PHASE_MS);
    expect(out.get('fixed')).toEqual({ rollbackMs: 10 * 60_000 + 2 * STEP_MS, by: 'guard' });
  });

  it('keeps a clean canary to the end of the phase: every tick and checkpoint passes', async () => {
    const ctx = judgesPlan(0.01, 50, fixedOnly);
    const out = await runJudges(ctx, new HistoryProvider(history(() => 0), PHASE_START), PHASE_START, PHASE_MS);
    expect(out.get('fixed')).toEqual({ rollbackMs: null, by: null });
  });
});
