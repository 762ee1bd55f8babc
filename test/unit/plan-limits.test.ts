/**
 * Plan limits (issue 7, defect 4): a plan that validates can no longer take the controller
 * down. Bombs fail validation with a positioned message before anything expands them; a plan
 * at the limits loads and its timeline is computed.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../../src/plan/diagnostic.js';
import { checkpointCount, PLAN_LIMITS } from '../../src/plan/limits.js';
import { checkpointSpecs } from '../../src/plan/checkpoints.js';
import { loadPlanFile, loadPlanText } from '../../src/plan/load.js';
import { timeline } from '../../src/plan/timeline.js';

const BASE = readFileSync(path.resolve(__dirname, '../fixtures/plans/valid.yaml'), 'utf8');
const lenient = { envMode: 'lenient' as const, env: {} };
const dir = mkdtempSync(path.join(tmpdir(), 'rollgate-limits-'));

function errors(text: string): string[] {
  return loadPlanText(text, 'p.yaml', lenient)
    .diagnostics.filter((d) => d.severity === 'error')
    .map(formatDiagnostic);
}

const lineOf = (text: string, needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;
const withCheckpoints = (cp: string) => BASE.replace('checkpoints: [{ every: 1h, until: 4h }]', `checkpoints: ${cp}`);

describe('checkpoint limits', () => {
  it('{every: 1s, until: 10y} fails at its position, counted without expanding it', () => {
    const text = withCheckpoints('[{ every: 1s, until: 10y }]');
    expect(errors(text)).toEqual([`p.yaml:${lineOf(text, 'every: 1s')}:20: spec.phases[1].checkpoints: 315,360,000 checkpoints, more than the limit of 10,000 per phase: make every longer or until shorter`]);
  });

  it('until beyond 10y is refused, whatever every is', () => {
    const text = withCheckpoints('[{ every: 1000y, until: 100000y }]');
    expect(errors(text)[0]).toMatch(/^p\.yaml:\d+:\d+: spec\.phases\[1\]\.checkpoints\[0\]\.until: expected at most 3650d, got /);
  });

  it('a long list of offsets fails on the count', () => {
    const offsets = Array.from({ length: 10_001 }, (_, i) => `${i + 1}m`).join(', ');
    expect(errors(withCheckpoints(`[${offsets}]`))[0]).toContain('spec.phases[1].checkpoints: 10,001 checkpoints, more than the limit of 10,000 per phase');
  });

  it('counts like checkpointSpecs expands', () => {
    const phases = [
      { checkpoints: [{ every: 900_000, until: 7_200_000 }, { every: 7_200_000, until: 86_400_000 }] },
      { checkpoints: ['15m', { every: 600_000, until: 3_600_000 }, '2h'] },
      { checkpoints: [{ every: 3_600_000, until: 3_000_000 }, { every: 60_000, until: 180_000 }] },
      { checkpoints: { every: 7_000, until: 60_000 } },
    ] as unknown as Parameters<typeof checkpointCount>[0][];
    for (const p of phases) expect(checkpointCount(p)).toBe(checkpointSpecs(p).length);
  });

  it('a plan at the limit loads, and its timeline has every checkpoint', () => {
    const text = withCheckpoints('{ every: 1m, until: 10000m }');
    const r = loadPlanText(text, 'p.yaml', lenient);
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const tl = timeline(r.plans[0]!.plan, Date.UTC(2025, 10, 3, 9));
    expect(tl.phases[1]!.checkpoints).toHaveLength(PLAN_LIMITS.checkpointsPerPhase);
  });

  it('more than 20,000 checkpoints in all phases together is refused at spec.phases', () => {
    const text = BASE.replace('checkpoints: [15m, 30m, 1h]', 'checkpoints: { every: 1m, until: 10000m }').replace('checkpoints: [{ every: 1h, until: 4h }]', 'checkpoints: { every: 1m, until: 10001m }');
    expect(errors(text)).toEqual([expect.stringMatching(/spec\.phases\[1\]\.checkpoints: 10,001 checkpoints/)]);
    const both = text.replace('until: 10001m', 'until: 10000m').replace('  windows:', '  windows:');
    const extra = both.replace('  phases:\n', '  phases:\n    - { name: pre, weight: 1, checkpoints: [1m] }\n');
    expect(errors(extra)).toEqual([`p.yaml:${lineOf(extra, '- { name: pre,')}:5: spec.phases: 20,001 checkpoints in all phases, more than the limit of 20,000 per plan`]);
  });

  it('more than 100 phases or metrics', () => {
    const phases = Array.from({ length: 101 }, (_, i) => `    - { name: p${i}, weight: 100, checkpoints: [1m] }`).join('\n');
    const text = BASE.slice(0, BASE.indexOf('  phases:')) + `  phases:\n${phases}\n`;
    expect(errors(text)).toEqual([`p.yaml:${lineOf(text, '- { name: p0,')}:5: spec.phases: 101 phases, more than the limit of 100`]);
  });
});

describe('file and YAML limits', () => {
  it('a 16 MB plan file is refused by its size, without being parsed', async () => {
    const file = path.join(dir, 'huge.yaml');
    const offsets = Array.from({ length: 1_700_000 }, (_, i) => `${i + 1}s`).join(', ');
    writeFileSync(file, withCheckpoints(`[${offsets}]`));
    const r = await loadPlanFile(file, lenient);
    expect(r.diagnostics.map(formatDiagnostic)).toEqual([`${file}:1:1: (file): plan file is 15.2 MiB, more than the limit of 1.0 MiB`]);
    expect(r.plans).toEqual([]);
  });

  it('a plan of 1 MiB is read', () => {
    const text = BASE.replace('  vars:\n', `  vars:\n    pad: "${'x'.repeat(PLAN_LIMITS.fileBytes - BASE.length - 20)}"\n`);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(PLAN_LIMITS.fileBytes);
    expect(errors(text)).toEqual([]);
  });

  it('flow collections nested too deep: refused before parsing, at the level that is too deep', () => {
    const text = BASE.replace('    app: shop\n', `    app: shop\n    deep: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`);
    const line = lineOf(text, '    deep: ');
    expect(errors(text)).toEqual([`p.yaml:${line}:${11 + PLAN_LIMITS.flowDepth}: (yaml): flow collections ([ or {) nested more than 64 levels deep`]);
  });

  it('a billion-laughs document is refused at its first alias', () => {
    let bomb = '  lol0: &l0 [x, x, x, x, x, x, x, x, x]\n';
    for (let i = 1; i < 9; i++) bomb += `  lol${i}: &l${i} [*l${i - 1}, *l${i - 1}, *l${i - 1}, *l${i - 1}, *l${i - 1}, *l${i - 1}, *l${i - 1}, *l${i - 1}, *l${i - 1}]\n`;
    const text = `${BASE}x-bomb:\n${bomb}`;
    const [first] = errors(text);
    expect(first).toMatch(new RegExp(`^p\\.yaml:${lineOf(text, 'lol1:')}:\\d+: \\(yaml\\): aliases expand to too many nodes`));
  });

  it('more than 100 aliases in a document', () => {
    const text = `${BASE}x-refs:\n  a: &a 1\n${Array.from({ length: 101 }, (_, i) => `  r${i}: *a`).join('\n')}\n`;
    expect(errors(text)).toEqual([`p.yaml:${lineOf(text, '  r100: *a')}:9: (yaml): more than 100 aliases in one document`]);
  });
});
