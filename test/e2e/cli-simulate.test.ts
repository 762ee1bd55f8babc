/**
 * `rollgate simulate` as a user runs it: real Prometheus history, the built CLI, stdout holding
 * exactly one decision record per line with --output json, and the documented exit codes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { OpenMetricsHistory, between } from '../helpers/openmetrics.js';
import { startPrometheus, type RunningPrometheus } from '../helpers/prometheus.js';
import { decisionRecordSchema } from '../../src/core/record.js';

const MAIN = path.resolve(__dirname, '../../dist/main.js');
const HOUR = 3600;
const end = Math.floor(Date.now() / 900_000) * 900 - 1800; // a quarter hour, 30+ min ago
const start = end - 3 * HOUR;
const iso = (s: number) => new Date(s * 1000).toISOString();

let prom: RunningPrometheus;
let dir: string;

beforeAll(async () => {
  const h = new OpenMetricsHistory({ start: start - 600, end, step: 15 });
  h.counter('http_requests_total', { rev: 'good', code: '200' }, 20);
  h.counter('http_requests_total', { rev: 'good', code: '500' }, 0.01);
  h.counter('http_requests_total', { rev: 'bad', code: '200' }, 20);
  h.counter('http_requests_total', { rev: 'bad', code: '500' }, between(start + HOUR, end + 1, 2, 0.01));
  prom = await startPrometheus({ openMetrics: h.text() });
  dir = mkdtempSync(path.join(tmpdir(), 'rollgate-sim-'));
});

afterAll(async () => {
  await prom?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function plan(rev: string, extra = ''): string {
  const file = path.join(dir, `${rev}-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(
    file,
    `apiVersion: rollgate.dev/v1alpha1
kind: RolloutPlan
metadata: { name: sim-${rev} }
spec:
  revision: "1"
  startAt: "${iso(start)}"
  prometheus: { address: http://127.0.0.1:1 }
  traffic: { router: file, file: { path: ${dir}/never-written.json } }
  metrics:
    - name: error-rate
      query: sum(rate(http_requests_total{rev="${rev}",code="500"}[{{window}}])) / sum(rate(http_requests_total{rev="${rev}"}[{{window}}]))
      max: 0.01
      critical: true
${extra}
  phases:
    - { name: canary, weight: 10, checkpoints: [30m, 1h] }
    - { name: full, weight: 100, checkpoints: [1h] }
`,
  );
  return file;
}

function simulate(...args: string[]) {
  // The timeout only stops a hung process (the defect this file guards against); a passing run is far quicker.
  return spawnSync(process.execPath, [MAIN, 'simulate', ...args], { encoding: 'utf8', env: { ...process.env, ROLLGATE_LOG_LEVEL: 'warn' }, timeout: 60_000 });
}

// Each test spawns the CLI a few times: generous on a loaded machine (a passing run is far quicker).
describe('rollgate simulate', { timeout: 300_000 }, () => {
  it('--output json prints exactly one decision record per line and exits 0 when the rollout completes', () => {
    const r = simulate(plan('good'), '--prometheus', prom.url, '--output', 'json', '--until', iso(end));
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    const records = lines.map((l) => decisionRecordSchema.parse(JSON.parse(l)));
    expect(records.map((x) => x.decision)).toEqual(['start', 'continue', 'advance', 'complete']);
    expect(records.map((x) => x.seq)).toEqual([1, 2, 3, 4]);
    expect(records[1]!.metrics![0]!.value).toBeCloseTo(0.01 / 20.01, 6);
    expect(r.stderr).toContain('complete');
  });

  it('exits 10 when the rollout is rolled back, and the same history gives the same records', () => {
    const file = plan('bad', '  guard: { interval: 30s, consecutive: 2 }');
    const a = simulate(file, '--prometheus', prom.url, '--output', 'json', '--until', iso(end));
    const b = simulate(file, '--prometheus', prom.url, '--output', 'json', '--until', iso(end));
    expect(a.status, a.stderr).toBe(10);
    expect(a.stdout).toBe(b.stdout);
    const last = JSON.parse(a.stdout.trimEnd().split('\n').at(-1)!);
    expect(last).toMatchObject({ kind: 'guard', decision: 'rollback', weight: { to: 0 } });
  });

  it('exits 11 when the rollout pauses for lack of data', () => {
    const file = plan('missing', '  analysis: { inconclusiveLimit: 1, retryInterval: 5m }');
    const r = simulate(file, '--prometheus', prom.url, '--output', 'json', '--until', iso(end));
    expect(r.status, r.stderr).toBe(11);
    expect(r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l).decision)).toEqual(['start', 'hold', 'pause']);
  });

  it('text output is readable and names values and thresholds', () => {
    const r = simulate(plan('good'), '--prometheus', prom.url, '--until', iso(end));
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/checkpoint 1\/2 of canary: continue/);
    expect(r.stdout).toMatch(/error-rate=0\.0004\d* \(max 0\.01\) pass/); // 0.01 / 20.01
  });

  it("a judged metric's numbers are in each --output json record and in the text (relative bound and traffic floor)", () => {
    const errors = (rev: string) => `sum(rate(http_requests_total{rev="${rev}",code="500"}[{{window}}])) / sum(rate(http_requests_total{rev="${rev}"}[{{window}}]))`;
    const file = plan(
      'good',
      `    - name: errors-vs-stable
      query: '${errors('bad')}'
      baseline: '${errors('good')}'
      tolerance: 50%
      slack: 0.0001
      samples: 'sum(increase(http_requests_total{rev="bad"}[{{window}}]))'
      minSamples: 100
      max: 0.05
      critical: true`,
    );
    const json = simulate(file, '--prometheus', prom.url, '--output', 'json', '--until', iso(end));
    expect(json.stdout, json.stderr).not.toBe('');
    const records = json.stdout.trimEnd().split('\n').map((l) => decisionRecordSchema.parse(JSON.parse(l)));
    const judged = records.find((r) => r.kind === 'checkpoint')!;
    const entry = judged.metrics!.find((m) => m.name === 'errors-vs-stable')!;
    // 20.01 requests/s of each revision over the 30 min window; both fail at 0.01/20.01 in the first hour.
    expect(entry).toMatchObject({ verdict: 'pass', minSamples: 100, tolerance: 0.5, slack: 0.0001 });
    expect(entry.samples).toBeCloseTo(20.01 * 1800, -2);
    expect(entry.baseline).toBeCloseTo(0.01 / 20.01, 6);
    expect(entry.bound).toBeCloseTo((1.5 * 0.01) / 20.01, 6);
    expect(entry.ratio).toBeCloseTo(1, 3);
    const text = simulate(file, '--prometheus', prom.url, '--output', 'text', '--until', iso(end));
    expect(text.status).toBe(json.status);
    expect(text.stdout).toMatch(/errors-vs-stable pass: 0\.0005 < bound 0\.00075 \(baseline 0\.0005 x1\.00, tolerance 50%, slack 0\.0001, max 0\.05, 36,0\d\d samples\)/);
  });

  it("the text shows each decision's time in the plan's time zone next to UTC, as history and status do", () => {
    // Open all day but 23:59 in Asia/Kolkata (UTC+05:30, no daylight saving time).
    const file = plan('good', `  windows:\n    - { start: "00:00", end: "23:59", timezone: Asia/Kolkata }`);
    const r = simulate(file, '--prometheus', prom.url, '--output', 'text', '--until', iso(end));
    expect(r.status, r.stderr).toBe(0);
    const heads = r.stdout.split('\n').filter((l) => / default\/sim-good #\d+ /.test(l)); // the records' heads, not the summary
    expect(heads.length).toBeGreaterThan(1);
    for (const head of heads) {
      const m = head.match(/^(\d{4}-\d\d-\d\d \d\d:\d\d(?::\d\d)?) Asia\/Kolkata \((\d{4}-\d\d-\d\dT)?(\d\d:\d\d(?::\d\d)?)Z\) default\/sim-good #\d+ /);
      expect(m, head).not.toBeNull();
      // The wall clock there is UTC + 5:30.
      const minutes = (hm: string) => Number(hm.slice(0, 2)) * 60 + Number(hm.slice(3, 5));
      expect((minutes(m![1]!.slice(11)) - minutes(m![3]!) + 1440) % 1440).toBe(330);
    }
  });

  it('exits 12 naming the address and the failure when --prometheus is unreachable, with no record printed', () => {
    const r = simulate(plan('good'), '--prometheus', 'http://127.0.0.1:1', '--output', 'json', '--until', iso(end));
    expect(r.signal, 'simulate hung and was killed').toBeNull();
    expect(r.status, r.stderr).toBe(12);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('rollgate: simulation of default/sim-good stopped: Prometheus history is not available');
    expect(r.stderr).toContain('cannot reach Prometheus at http://127.0.0.1:1 (ECONNREFUSED)');
    expect(r.stderr).not.toMatch(/^\s+at /m);
  }, 70_000);

  it("exits 12 when the plan's own prometheus.address is dead (no --prometheus), text output alike", () => {
    const r = simulate(plan('good', '  guard: { interval: 5s }'), '--until', iso(end));
    expect(r.signal, 'simulate hung and was killed').toBeNull();
    expect(r.status, r.stderr).toBe(12);
    expect(r.stderr).toContain('http://127.0.0.1:1');
    expect(r.stdout).not.toMatch(/hold|pause/);
  }, 70_000);

  it('needs no notify secret: the shared example with a ${ROLLGATE_SLACK_WEBHOOK} webhook simulates without it', () => {
    const example = path.resolve(__dirname, '../../../shared/examples/dark-canary-full.yaml');
    const env: NodeJS.ProcessEnv = { ...process.env, ROLLGATE_LOG_LEVEL: 'warn' };
    delete env.ROLLGATE_SLACK_WEBHOOK;
    const r = spawnSync(process.execPath, [MAIN, 'simulate', example, '--prometheus', prom.url, '--from', iso(start), '--until', iso(end), '--output', 'json'], {
      encoding: 'utf8',
      env,
      timeout: 240_000,
    });
    // Its queries find no series here: the dark phase holds, then pauses (11), unfinished either way.
    expect(r.status, r.stderr).toBe(11);
    expect(r.stderr).not.toContain('ROLLGATE_SLACK_WEBHOOK');
    const records = r.stdout.trimEnd().split('\n').map((l) => decisionRecordSchema.parse(JSON.parse(l)));
    expect(records[0]).toMatchObject({ rollout: 'default/stage-e-executor', decision: 'start' });
  });

  it('documents exit status 12 in --help', () => {
    const r = spawnSync(process.execPath, [MAIN, 'simulate', '--help'], { encoding: 'utf8' });
    expect(r.stdout).toMatch(/12 Prometheus history not available/);
  });

  it('an invalid plan exits 1 with FILE:LINE:COL and no stack trace; usage errors exit 2', () => {
    const bad = path.join(dir, 'bad.yaml');
    writeFileSync(bad, readFileSync(plan('good'), 'utf8').replace('weight: 100', 'weight: 140'));
    const r = simulate(bad, '--prometheus', prom.url);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: spec\\.phases\\[1\\]\\.weight: `));
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(simulate(plan('good'), '--output', 'yaml').status).toBe(2);
    expect(simulate(plan('good'), '--from', 'yesterday').status).toBe(2);
  });
});
