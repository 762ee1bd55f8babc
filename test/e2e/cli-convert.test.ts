/**
 * `rollgate convert` as a user runs it (`node dist/main.js`): the exit statuses 0 (converted),
 * 1 (unsupported input, or a plan to fill in) and 2 (usage), and the plan on stdout or in --out.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '../..');
const MAIN = path.join(ROOT, 'dist/main.js');

function rollgate(args: string[]) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: ROOT, encoding: 'utf8', env: { PATH: process.env.PATH } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('rollgate convert (e2e)', () => {
  it('exit 0: the plan on stdout, a summary on stderr', () => {
    const r = rollgate(['convert', 'test/fixtures/convert/argo-istio-analysis.yaml']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(readFileSync(path.join(ROOT, 'test/fixtures/convert/golden/argo-istio-analysis.plan.yaml'), 'utf8'));
    expect(r.stderr).toBe('converted Argo Rollouts Rollout shop/rollouts-demo (test/fixtures/convert/argo-istio-analysis.yaml:3): 10 notes (# comments)\n');
  });

  it('exit 0 with --out: the file passes rollgate validate', () => {
    const out = path.join(mkdtempSync(path.join(tmpdir(), 'rollgate-convert-')), 'checkout.yaml');
    const r = rollgate(['convert', 'test/fixtures/convert/argo-nginx-steps.yaml', 'test/fixtures/convert/argo-templates.yaml', '-o', out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`${out}:34:18: spec.vars.canary-hash: warning: environment variable ARG_CANARY_HASH is not set`);
    const v = rollgate(['validate', out]);
    expect(v.code, v.stdout).toBe(0);
  });

  it('exit 1: unsupported input, named by file, line and field; no stack trace', () => {
    const r = rollgate(['convert', 'test/fixtures/convert/bad-blue-green.yaml']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^test\/fixtures\/convert\/bad-blue-green\.yaml:15:7: spec\.strategy\.blueGreen: a blue-green Rollout has no traffic steps to convert/);
    expect(r.stderr).not.toContain('    at ');
  });

  it('exit 1: a plan that needs filling in is printed with its errors', () => {
    const r = rollgate(['convert', 'test/fixtures/convert/needs-metrics.yaml']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('kind: RolloutPlan');
    expect(r.stderr).toContain('<stdout>:26:12: spec.metrics: expected at least one metric');
  });

  it('exit 2: usage', () => {
    expect(rollgate(['convert']).code).toBe(2);
    expect(rollgate(['convert', 'x.yaml', '--frobnicate']).code).toBe(2);
  });

  it('--help names the inputs and the exit statuses', () => {
    const r = rollgate(['convert', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('-o, --out <file>');
    expect(r.stdout).toContain('Exit status: 0 converted (the plan passes validate; warnings allowed), 1 unreadable or unsupported input');
  });
});
