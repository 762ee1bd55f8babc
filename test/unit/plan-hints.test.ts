/**
 * Validation hints (src/plan/yaml-hints.ts, checks-rollback.ts, zod-issues.ts): each common
 * mistake in a plan is reported at FILE:LINE:COL with what to write instead. The fixture plans
 * are test/fixtures/plans/*.yaml, each one mistake away from valid.yaml.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../../src/plan/diagnostic.js';
import { loadPlanFile, loadPlanText } from '../../src/plan/load.js';

const FIXTURES = path.resolve(__dirname, '../fixtures/plans/hints');
const BASE = readFileSync(path.resolve(__dirname, '../fixtures/plans/valid.yaml'), 'utf8');
const lenient = { envMode: 'lenient' as const, env: {} };

async function problems(fixture: string): Promise<string[]> {
  const file = path.join(FIXTURES, fixture);
  const r = await loadPlanFile(file, lenient);
  return r.diagnostics.map((d) => formatDiagnostic({ ...d, file: fixture }));
}

function problemsOf(text: string): string[] {
  return loadPlanText(text, 'p.yaml', lenient).diagnostics.map(formatDiagnostic);
}

function edited(from: string, to: string): string {
  expect(BASE).toContain(from);
  return BASE.replace(from, to);
}

describe('YAML syntax errors carry a hint', () => {
  it('a list item field indented less than its siblings: check the indentation of the lines above', async () => {
    expect(await problems('yaml-list-indent.yaml')).toEqual([
      'yaml-list-indent.yaml:25:1: (yaml): Sequence item without - indicator; check the indentation of the lines above: a list item needs "- " at the same indent as its siblings',
    ]);
  });

  it('an unquoted ${NAME} inside { }: quote it, naming the reference', async () => {
    expect(await problems('yaml-unquoted-reference.yaml')).toEqual([
      'yaml-unquoted-reference.yaml:8:27: (yaml): Unexpected flow-map-start at node end; quote the reference: "${PROMETHEUS_URL}" (unquoted inside { } or [ ], its { starts a mapping)',
    ]);
    // Inside [ ] too, and the quoted form is valid.
    const inList = edited('    metrics: [error-rate]\n', '    metrics: [${GUARDED}]\n');
    expect(problemsOf(inList)).toEqual([
      'p.yaml:27:16: (yaml): Missing , or : between flow sequence items; quote the reference: "${GUARDED}" (unquoted inside { } or [ ], its { starts a mapping)',
    ]);
    expect(problemsOf(edited('    address: http://prometheus:9090\n', '    address: "${PROMETHEUS_URL}"\n')).join('\n')).not.toContain('(yaml)');
  });

  it('a { that is not a reference, inside { } or [ ]: quote the value', () => {
    expect(problemsOf(edited('  vars:\n    app: shop\n', '  vars: { app: shop{x} }\n'))).toEqual([
      'p.yaml:15:20: (yaml): Unexpected flow-map-start at node end; a { here starts a mapping: quote a value that holds { or }',
    ]);
    expect(problemsOf(edited('    metrics: [error-rate]\n', '    metrics: [error{rate}]\n'))).toEqual([
      'p.yaml:27:20: (yaml): Missing , or : between flow sequence items; separate the items with commas, and quote a value that holds { } [ ] , or :',
    ]);
  });

  it.each([
    ['a mapping field out of line', ['    app: shop\n', '    app: shop\n   other: x\n'], 'All mapping items must start at the same column; check the indentation: every field of a mapping starts at the same column'],
    ['a list item out of line', ['    - name: full\n', '   - name: full\n'], 'check the indentation of the lines above: a list item needs "- " at the same indent as its siblings'],
    ['a tab', ['    app: shop\n', '\tapp: shop\n'], 'indent with spaces, not tabs'],
    ['no space after the colon', ['    app: shop\n', '    app:shop\n    x: 1\n'], 'a key needs ": " after it, with a space'],
    ['an unclosed [', ['[15m, 30m, 1h]', '[15m, 30m, 1h'], 'a [ opened above is not closed with ]'],
    ['an unclosed quote', ['"1.2.3"', '"1.2.3'], 'a quoted value is not closed'],
    ['a value starting with @', ['    app: shop\n', '    app: @shop\n'], 'quote the value'],
    ['a duplicate key', ['    app: shop\n', '    app: shop\n    app: cart\n'], 'Map keys must be unique; remove one of the two, or rename it'],
  ])('%s', (_what, [from, to], hint) => {
    const yaml = problemsOf(edited(from!, to!)).filter((p) => p.includes('(yaml)'));
    expect(yaml).toHaveLength(1);
    expect(yaml[0]).toMatch(/^p\.yaml:\d+:\d+: \(yaml\): /);
    expect(yaml[0]).toContain(hint);
  });
});

describe('rollback steps', () => {
  it('written upwards: an error at each step that is never reached, with the order that works', async () => {
    expect(await problems('rollback-steps-ascending.yaml')).toEqual([
      'rollback-steps-ascending.yaml:29:16: spec.rollback.steps[1]: 10 after 0 is never reached: the rollback ends at the first 0; write them from high to low, such as [25, 10, 0]',
      'rollback-steps-ascending.yaml:29:20: spec.rollback.steps[2]: 25 after 10 is never reached: a gradual rollback goes down through the steps in order, each below the one before; write them from high to low, such as [25, 10, 0]',
    ]);
  });

  it('a step at or above every phase weight: a warning, the plan stays valid', async () => {
    expect(await problems('rollback-steps-unused.yaml')).toEqual([
      'rollback-steps-unused.yaml:29:13: spec.rollback.steps[0]: warning: 100 is never used: no phase has a weight above 100%, and a rollback only steps down to weights below the current one',
    ]);
    expect((await loadPlanFile(path.join(FIXTURES, 'rollback-steps-unused.yaml'), lenient)).plans).toHaveLength(1);
  });

  it('a repeated step is never reached either', () => {
    expect(problemsOf(edited('  guard:\n', '  rollback: { strategy: gradual, steps: [50, 50, 0] }\n  guard:\n'))).toEqual([
      'p.yaml:26:46: spec.rollback.steps[1]: 50 after 50 is never reached: a gradual rollback goes down through the steps in order, each below the one before; write them from high to low, such as [50, 0]',
    ]);
  });

  it('steps with strategy immediate: a warning that they are ignored', () => {
    expect(problemsOf(edited('  guard:\n', '  rollback: { steps: [50, 25, 0] }\n  guard:\n'))).toEqual([
      'p.yaml:26:22: spec.rollback.steps: warning: ignored: strategy is immediate (weight and mirror to 0 at once); set strategy: gradual to step down through them',
    ]);
  });

  it('descending steps, with or without the final 0, and the default steps: no comment', () => {
    expect(problemsOf(edited('  guard:\n', '  rollback: { strategy: gradual, steps: [50, 25, 5] }\n  guard:\n'))).toEqual([]);
    expect(problemsOf(edited('  guard:\n', '  rollback: { strategy: gradual, steps: [90, 50, 0] }\n  guard:\n'))).toEqual([]);
    expect(problemsOf(edited('  guard:\n', '  rollback: { strategy: gradual }\n  guard:\n'))).toEqual([]);
  });
});

describe('a number written as text', () => {
  it('"0.5%" as a threshold: suggests the fraction 0.005', async () => {
    expect(await problems('threshold-percent-text.yaml')).toEqual([
      'threshold-percent-text.yaml:26:12: spec.metrics[1].max: expected number, got "0.5%": write the fraction 0.005 (plan numbers are plain: 0.5% is 0.005)',
    ]);
  });

  it('a quoted number: write it without quotes; a percentage field: without % and quotes', () => {
    expect(problemsOf(edited('      max: 0.01\n', '      max: "0.01"\n'))).toEqual([
      'p.yaml:20:12: spec.metrics[0].max: expected number, got "0.01": write the number without quotes: 0.01',
    ]);
    expect(problemsOf(edited('      weight: 10\n', '      weight: "10%"\n'))).toEqual([
      'p.yaml:35:15: spec.phases[0].weight: expected a percentage from 0 to 100, got "10%": write the percentage as a plain number, without % and quotes: 10',
    ]);
    expect(problemsOf(edited('      max: 0.01\n', '      max: "1.1%"\n'))[0]).toContain('write the fraction 0.011 ');
  });

  it('text that is no number gets no such hint; tolerance keeps taking 20%', () => {
    expect(problemsOf(edited('      max: 0.01\n', '      max: "low"\n'))).toEqual(['p.yaml:20:12: spec.metrics[0].max: expected number, got "low"']);
    expect(problemsOf(edited('      max: 0.5\n', '      max: 0.5\n      baseline: sum(rate(latency_sum[{{window}}]))\n      tolerance: 20%\n'))).toEqual([]);
  });
});
