/**
 * The CI subset of the judges benchmark (bench/judges.bench.mjs, bench/README.md "Judges"):
 * three cells of its grid, 60 seeded runs each, through the same engine path as the full grid
 * (src/devtools/judge-run.ts). It asserts the headline properties with margins for 60 runs:
 * - a global incident (both tracks x5 for 10 minutes, no regression) at 1% and 10 canary
 *   requests/s: the sequential test (alpha 0.01) rolls back in at most 3 of 60 runs (expected
 *   at most 0.6), while the fixed threshold (2x the base rate) rolls back in most of them;
 * - a x2 regression at 1% and 10 canary requests/s: the sequential test rolls back in at least
 *   54 of 60 runs (the grid's target is 95% of 200), after the regression's onset.
 * The runs are seeded, so the figures are the same on every machine.
 */
import { describe, expect, it } from 'vitest';
import { judgeGrid, runCell, type JudgeSettings } from '../../src/devtools/judge-grid.js';

const RUNS = 60;
const settings: JudgeSettings = { judges: ['fixed', 'sequential'], sequentialTolerance: 0.1 };
const cell = (id: string) => {
  const c = judgeGrid().find((x) => x.id === id);
  if (!c) throw new Error(`no cell ${id}`);
  return c;
};

describe('judges benchmark, CI subset', () => {
  it('a global incident: the sequential test does not roll back (at most 3/60), the fixed threshold does', async () => {
    for (const split of [5, 50]) {
      const r = await runCell(cell(`1% 10rps ${split}% incident`), RUNS, settings);
      expect(r.judges.sequential!.falseRollbacks, `split ${split}%`).toBeLessThanOrEqual(3);
      expect(r.judges.fixed!.falseRollbacks, `split ${split}%`).toBeGreaterThanOrEqual(RUNS / 2);
    }
  }, 120_000);

  it('a x2 regression at 1% and 10 canary requests/s: the sequential test rolls back in at least 54/60 runs, after the onset', async () => {
    const r = await runCell(cell('1% 10rps 25% x2'), RUNS, settings);
    const t = r.judges.sequential!;
    expect(t.detected).toBeGreaterThanOrEqual(54);
    expect(t.falseRollbacks).toBeLessThanOrEqual(3);
    expect(t.delaysMs.every((d) => d >= 0)).toBe(true);
  }, 120_000);
});
