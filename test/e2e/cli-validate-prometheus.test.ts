/**
 * `rollgate validate --prometheus URL` runs every query (the judges' baseline, samples and
 * counts queries too) once at now against a real Prometheus: a query it refuses, several series and an unreachable address are positioned
 * errors (exit 1); an empty result is a warning (exit 0); the values of the others are listed.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrometheus, type RunningPrometheus } from '../helpers/prometheus.js';

const MAIN = path.resolve(__dirname, '../../dist/main.js');
const dir = mkdtempSync(path.join(tmpdir(), 'rollgate-validate-prom-'));
let prom: RunningPrometheus;

beforeAll(async () => {
  prom = await startPrometheus();
});
afterAll(async () => {
  await prom?.stop();
});

function rollgate(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], { cwd: dir, env: { PATH: process.env.PATH } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A plan whose metrics are `[name, query]`, one per line from line 8 on. */
function plan(file: string, metrics: Array<[string, string]>): string {
  const lines = [
    'apiVersion: rollgate.dev/v1alpha1',
    'kind: RolloutPlan',
    'metadata: { name: live-check }',
    'spec:',
    '  revision: "1"',
    '  traffic: { router: file, file: { path: /tmp/live-check-split.json } }',
    '  metrics:',
    ...metrics.map(([name, query]) => `    - { name: ${name}, query: '${query}', max: 0.01, critical: true }`),
    '  phases:',
    '    - { name: canary, weight: 10, checkpoints: [5m] }',
    '    - { name: full, weight: 100, checkpoints: [5m] }',
    '',
  ];
  writeFileSync(path.join(dir, file), lines.join('\n'));
  return file;
}

describe('rollgate validate --prometheus URL', () => {
  it('lists the values of queries that answer one number, and exits 0', async () => {
    const file = plan('ok.yaml', [
      ['error-rate', 'sum(vector(0.002))'],
      ['latency', 'scalar(vector(0.25))'],
    ]);
    const r = await rollgate(['validate', '--prometheus', prom.url, file]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('ok.yaml: 1 plan valid');
    expect(r.stdout).toContain(`ok.yaml: answered at now by ${prom.url}: error-rate = 0.002, latency = 0.25`);
    expect(r.code).toBe(0);
  });

  it('reports a refused query, several series and an empty result at each metric, with their positions', async () => {
    const file = plan('bad.yaml', [
      ['refused', 'rate(up)'],
      ['several', 'vector(1) or label_replace(vector(2), "x", "y", "", "")'],
      ['empty', 'sum(metric_nobody_exports_total)'],
      ['fine', 'sum(vector(0))'],
    ]);
    const r = await rollgate(['validate', '--prometheus', prom.url, file]);
    const lines = r.stdout.trim().split('\n');
    const refused = lines.find((l) => l.startsWith('bad.yaml:8:'));
    expect(refused).toMatch(/^bad\.yaml:8:\d+: spec\.metrics\[0\]\.query: Prometheus refused the query: .*range vector/);
    const several = lines.find((l) => l.startsWith('bad.yaml:9:'));
    expect(several).toMatch(/^bad\.yaml:9:\d+: spec\.metrics\[1\]\.query: the query returned 2 series at now, expected one: aggregate it/);
    const empty = lines.find((l) => l.startsWith('bad.yaml:10:'));
    expect(empty).toMatch(/^bad\.yaml:10:\d+: spec\.metrics\[2\]\.query: warning: the query returned no series at now/);
    expect(lines.some((l) => l.startsWith('bad.yaml:11:'))).toBe(false);
    expect(r.stdout).toContain('bad.yaml: invalid: 2 errors, 1 warning');
    expect(r.stdout).toContain('answered at now by');
    expect(r.stdout).toContain('fine = 0');
    expect(r.code).toBe(1);
  });

  it("runs the judges' queries too (baseline, samples, counts), each reported at its own field", async () => {
    const lines = [
      'apiVersion: rollgate.dev/v1alpha1',
      'kind: RolloutPlan',
      'metadata: { name: live-judges }',
      'spec:',
      '  revision: "1"',
      '  traffic: { router: file, file: { path: /tmp/live-judges-split.json } }',
      '  metrics:',
      '    - name: rel',
      "      query: 'sum(vector(0.002))'",
      "      baseline: 'rate(up)'",
      '      slack: 0.001',
      "      samples: 'sum(vector(600))'",
      '      minSamples: 500',
      '    - name: errs',
      '      counts:',
      '        canary:',
      "          bad: 'sum(increase(metric_nobody_exports_total[{{window}}]))'",
      "          total: 'sum(count_over_time(vector(1)[{{window}}:1s]))'",
      '        baseline:',
      "          bad: 'sum(count_over_time(vector(0)[{{window}}:1s])) - sum(count_over_time(vector(0)[{{window}}:1s]))'",
      "          total: 'sum(count_over_time(vector(1)[{{window}}:1s]))'",
      '      critical: true',
      '  phases:',
      '    - { name: canary, weight: 10, checkpoints: [5m] }',
      '    - { name: full, weight: 100, checkpoints: [5m] }',
      '',
    ];
    writeFileSync(path.join(dir, 'judges.yaml'), lines.join('\n'));
    const r = await rollgate(['validate', '--prometheus', prom.url, 'judges.yaml']);
    const out = r.stdout.trim().split('\n');
    expect(out.find((l) => l.startsWith('judges.yaml:10:'))).toMatch(/^judges\.yaml:10:\d+: spec\.metrics\[0\]\.baseline: Prometheus refused the query: .*range vector/);
    expect(out.find((l) => l.startsWith('judges.yaml:17:'))).toMatch(/^judges\.yaml:17:\d+: spec\.metrics\[1\]\.counts\.canary\.bad: warning: the query returned no series at now/);
    expect(r.stdout).toContain('judges.yaml: invalid: 1 error, 1 warning');
    const answered = out.find((l) => l.startsWith('judges.yaml: answered at now by'))!;
    expect(answered).toContain('rel = 0.002');
    expect(answered).toContain('rel.samples = 600');
    expect(answered).toMatch(/errs\.counts\.canary\.total = 6\d/);
    expect(answered).toContain('errs.counts.baseline.bad = 0');
    expect(answered).toMatch(/errs\.counts\.baseline\.total = 6\d/);
    expect(r.code).toBe(1);
  });

  it('an empty result alone is a warning: exit 0', async () => {
    const file = plan('empty.yaml', [['empty', 'sum(metric_nobody_exports_total)']]);
    const r = await rollgate(['validate', '--prometheus', prom.url, file]);
    expect(r.stdout).toMatch(/empty\.yaml:8:\d+: spec\.metrics\[0\]\.query: warning: the query returned no series/);
    expect(r.stdout).toContain('empty.yaml: 1 plan valid (1 warning)');
    expect(r.code).toBe(0);
  });

  it('an unreachable Prometheus is an error naming the address, and the command ends', async () => {
    const file = plan('down.yaml', [['error-rate', 'sum(vector(0.002))']]);
    const r = await rollgate(['validate', '--prometheus', 'http://127.0.0.1:1', file]);
    expect(r.stdout).toMatch(/^down\.yaml:8:\d+: spec\.metrics\[0\]\.query: cannot run the query: cannot reach Prometheus at http:\/\/127\.0\.0\.1:1/m);
    expect(r.stdout).toContain('down.yaml: invalid: 1 error');
    expect(r.code).toBe(1);
  });

  it('without --prometheus, no query is run', async () => {
    const file = plan('offline.yaml', [['error-rate', 'sum(vector(0.002))']]);
    const r = await rollgate(['validate', file]);
    expect(r.stdout).not.toContain('answered at now');
    expect(r.code).toBe(0);
  });
});
