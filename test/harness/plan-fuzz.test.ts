/**
 * Plan fuzzing, CI variant: 1,000 generated and mutated plans (fewer of the heavy 20 MB and
 * nesting cases than the full run; metrics of the judges' fields among them) through `validateFiles`, 4 of them through the built CLI:
 * no crash, no process warning, none over 10 s, every output line positioned. The full run
 * (10,000 plans) is `npm run harness:fuzz`; figures in docs/reliability.md.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fuzzPlans, isPositioned, seedFiles } from '../../src/devtools/plan-fuzz.js';

const ROOT = path.resolve(__dirname, '../..');

describe('plan fuzzing (CI variant)', () => {
  it('tells positioned lines from others', () => {
    expect(isPositioned('/t/a.yaml:3:5: spec.phases[0].weight: expected a percentage', '/t/a.yaml')).toBe(true);
    expect(isPositioned('/t/a.yaml: (file): cannot read file', '/t/a.yaml')).toBe(true);
    expect(isPositioned('/t/a.yaml: invalid: 2 errors', '/t/a.yaml')).toBe(true);
    expect(isPositioned('/t/a.yaml: 1 plan valid (1 warning)', '/t/a.yaml')).toBe(true);
    expect(isPositioned('rollgate: Unresolved alias (the anchor must be set before the alias): nope', '/t/a.yaml')).toBe(false);
    expect(isPositioned('/t/a.yaml:3:5:', '/t/a.yaml')).toBe(false);
  });

  it('1,000 plans: 0 crashes, 0 warnings, 0 over 10 s, every message positioned', async () => {
    const report = await fuzzPlans({
      trials: 1000,
      seed: Number(process.env.FUZZ_SEED ?? 20261201),
      seeds: seedFiles(ROOT),
      heavyWeight: 0.2,
      cliEvery: 250,
      mainJs: path.join(ROOT, 'dist/main.js'),
    });
    expect(report.violations).toEqual([]);
    expect(report.trials).toBe(1000);
    expect(report.cliTrials).toBe(4);
    // Metrics of the judges' fields: many trials, some valid, most not.
    const judged = report.byKind['judge-metric'] ?? 0;
    expect(judged).toBeGreaterThan(100);
    expect(report.validByKind['judge-metric'] ?? 0).toBeGreaterThan(0);
    expect(report.validByKind['judge-metric'] ?? 0).toBeLessThan(judged);
  }, 240_000);
});
