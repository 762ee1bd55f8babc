/**
 * `rollgate validate` and `rollgate plan` as a user runs them: `node dist/main.js` (the test
 * script builds first). Every kind of invalid plan must be reported as
 * `FILE:LINE:COL: path: message`, exit 1, and never show a stack trace.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const MAIN = path.resolve(__dirname, '../../dist/main.js');
const EXAMPLES = path.resolve(__dirname, '../../../shared/examples');
const BASE = readFileSync(path.resolve(__dirname, '../fixtures/plans/valid.yaml'), 'utf8');
const dir = mkdtempSync(path.join(tmpdir(), 'rollgate-validate-'));

function rollgate(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [MAIN, ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, all: r.stdout + r.stderr };
}

function fixture(name: string, text: string): string {
  writeFileSync(path.join(dir, name), text);
  return name;
}

function edit(edits: Array<[string, string]>): string {
  let text = BASE;
  for (const [from, to] of edits) {
    if (!text.includes(from)) throw new Error(`"${from}" is not in the base plan`);
    text = text.replace(from, to);
  }
  return text;
}

const HAPROXY: [string, string] = [
  '    router: nginx\n    nginx:\n      configFile: /etc/nginx/split.conf\n      stable: 127.0.0.1:8081\n      canary: 127.0.0.1:8082\n',
  '    router: haproxy\n    haproxy:\n      socket: /run/haproxy.sock\n      backend: shop\n      stableServer: v0\n      canaryServer: v1\n',
];

/** [name, edits, `LINE:COL: path`, text the message contains] */
const INVALID: Array<[string, Array<[string, string]>, string, string]> = [
  ['yaml-syntax', [['[15m, 30m, 1h]', '[15m, 30m, 1h']], '38:5: (yaml)', 'Flow sequence'],
  ['yaml-duplicate-key', [['      max: 0.5\n', '      max: 0.5\n      max: 0.6\n']], '26:7: (yaml)', 'unique'],
  ['wrong-type', [['weight: 10', 'weight: ten']], '35:15: spec.phases[0].weight', 'expected a percentage from 0 to 100, got "ten"'],
  ['number-for-string', [['revision: "1.2.3"', 'revision: 42']], '6:13: spec.revision', 'got number 42'],
  ['out-of-range', [['weight: 10', 'weight: 150']], '35:15: spec.phases[0].weight', 'got number 150'],
  ['unknown-field', [['rollbackAbove: 0.05', 'rollbackAbov: 0.05']], '21:7: spec.metrics[0].rollbackAbov', 'did you mean "rollbackAbove"'],
  ['unknown-section', [['  guard:\n', '  gaurd:\n']], '26:3: spec.gaurd', 'unknown field "gaurd"'],
  ['missing-field', [['      weight: 100\n', '']], '38:7: spec.phases[1].weight', 'missing required field "weight"'],
  ['bad-enum', [['router: nginx', 'router: envoy']], '10:13: spec.traffic.router', 'got "envoy"'],
  ['bad-day', [['[mon, tue', '[monday, tue']], '29:14: spec.windows[0].days[0]', 'got "monday"'],
  ['bad-duration', [['[15m, 30m, 1h]', '[15m, 30x, 1h]']], '37:26: spec.phases[0].checkpoints[1]', 'got "30x"'],
  ['bad-duration-every', [['every: 1h', 'every: 1 hour']], '40:30: spec.phases[1].checkpoints[0].every', 'got "1 hour"'],
  ['bad-instant', [['    - name: full\n', '    - name: full\n      startAt: "2025-11-02 16:00"\n']], '39:16: spec.phases[1].startAt', 'RFC 3339'],
  ['not-a-plan', [['kind: RolloutPlan', 'kind: Deployment']], '2:7: kind', 'expected kind RolloutPlan, got "Deployment"'],
  // Issue 7, defect 2: a missing bracket validated, then switched the metric off at run time.
  ['promql-missing-bracket', [['[{{window}}]))\n      max: 0.01', '[{{window}}])\n      max: 0.01']], '19:57: spec.metrics[0].query', 'PromQL syntax error: missing ")" to close "sum("'],
  ['promql-unknown-function', [['histogram_quantile(0.99, rate(', 'histogram_quantile(0.99, rat(']], '24:39: spec.metrics[1].query', 'PromQL syntax error: unknown function "rat"'],
  ['unknown-template-var', [['{{ app }}', '{{ ap }}']], '24:64: spec.metrics[1].query', 'unknown template variable {{ap}}'],
  ['duplicate-metric', [['name: latency', 'name: error-rate']], '23:13: spec.metrics[1].name', 'duplicate metric name "error-rate"'],
  ['duplicate-phase', [['name: full', 'name: canary']], '38:13: spec.phases[1].name', 'duplicate phase name "canary"'],
  ['no-query', [['      query: histogram_quantile(0.99, rate(latency_bucket{app="{{ app }}"}[{{window}}]))\n', '']], '23:7: spec.metrics[1]', 'needs a query, alerts or counts'],
  ['no-threshold', [['      max: 0.5\n', '']], '23:7: spec.metrics[1]', 'needs min or max'],
  ['min-above-max', [['      max: 0.5\n', '      max: 0.5\n      min: 0.9\n']], '25:12: spec.metrics[1].max', 'min (0.9) must not exceed max (0.5)'],
  ['rollback-above-below-max', [['rollbackAbove: 0.05', 'rollbackAbove: 0.001']], '21:22: spec.metrics[0].rollbackAbove', 'must be >= max'],
  ['threshold-override', [['[{ every: 1h, until: 4h }]\n', '[{ every: 1h, until: 4h }]\n      thresholds:\n        error-rate: { max: 0.1 }\n']], '42:28: spec.phases[1].thresholds.error-rate.max', 'rollbackAbove (0.05) must be >= max (0.1)'],
  ['threshold-unknown-metric', [['[{ every: 1h, until: 4h }]\n', '[{ every: 1h, until: 4h }]\n      thresholds:\n        errors: { max: 0.1 }\n']], '42:9: spec.phases[1].thresholds.errors', 'unknown metric "errors"'],
  ['phase-unknown-metric', [['      weight: 100\n', '      weight: 100\n      metrics: [latency, cpu]\n']], '40:26: spec.phases[1].metrics[1]', 'unknown metric "cpu"'],
  ['unknown-guard-metric', [['metrics: [error-rate]', 'metrics: [error-rate, errors]']], '27:27: spec.guard.metrics[1]', 'unknown guard metric "errors"'],
  ['non-increasing-checkpoints', [['[15m, 30m, 1h]', '[15m, 1h, 30m]']], '37:30: spec.phases[0].checkpoints[2]', 'strictly increase'],
  ['mixed-checkpoints', [['[15m, 30m, 1h]', '[15m, "2025-11-02T16:00:00Z"]']], '37:26: spec.phases[0].checkpoints[1]', 'do not mix offsets and instants'],
  ['every-zero', [['every: 1h', 'every: 0s']], '40:30: spec.phases[1].checkpoints[0].every', 'greater than 0s'],
  ['until-before-every', [['until: 4h', 'until: 30m']], '40:41: spec.phases[1].checkpoints[0].until', 'until must be at least every'],
  ['mirror-on-haproxy', [HAPROXY], '37:15: spec.phases[0].mirror', 'the haproxy router cannot mirror traffic: expected mirror 0, got 5'],
  ['missing-router-block', [['router: nginx', 'router: istio']], '9:3: spec.traffic.istio', 'traffic.istio block is missing'],
  ['bad-timezone', [['Europe/Berlin', 'Europe/Berlim']], '32:17: spec.windows[0].timezone', 'expected an IANA time zone'],
  ['window-start-is-end', [['end: "17:00"', 'end: "09:00"']], '31:12: spec.windows[0].end', 'end must differ from start'],
  ['blackout-backwards', [['  phases:\n', '  blackouts:\n    - { from: "2025-12-24T00:00:00Z", to: "2025-12-20T00:00:00Z" }\n  phases:\n']], '34:43: spec.blackouts[0].to', 'must be after from'],
  ['score-caution-above-pass', [['  guard:\n', '  analysis:\n    score: { pass: 90, caution: 95 }\n  guard:\n']], '27:33: spec.analysis.score.caution', 'caution (95) must be <= pass (90)'],
  ['guard-window-too-short', [['  guard:\n', '  guard:\n    window: 500ms\n']], '27:13: spec.guard.window', 'expected at least 1s'],
  ['builtin-var', [['    app: shop\n', '    app: shop\n    window: 5m\n']], '17:5: spec.vars.window', 'built-in template name'],
];

describe('rollgate validate', () => {
  it('accepts every shipped example with exit 0', () => {
    const files = readdirSync(EXAMPLES).filter((f) => f.endsWith('.yaml')).map((f) => path.join(EXAMPLES, f));
    expect(files.length).toBeGreaterThanOrEqual(4);
    const r = rollgate(['validate', ...files]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    for (const f of files) expect(r.stdout).toContain(`${f}: 1 plan valid`);
  });

  it('accepts the base fixture', () => {
    const r = rollgate(['validate', fixture('valid.yaml', BASE)]);
    expect(r.stdout).toBe('valid.yaml: 1 plan valid\n');
    expect(r.code).toBe(0);
  });

  it.each(INVALID)('reports %s with position and field path, exit 1', (name, edits, at, message) => {
    const file = fixture(`${name}.yaml`, edit(edits));
    const r = rollgate(['validate', file]);
    expect(r.code).toBe(1);
    const first = r.stdout.split('\n').find((l) => !l.includes(': warning: '))!;
    expect(first.startsWith(`${file}:${at}: `)).toBe(true);
    expect(first).toContain(message);
    expect(r.stdout).toMatch(/^\S+:\d+:\d+: \S+: /);
    expect(r.stdout).toContain(`${file}: invalid: `);
    expect(r.all).not.toMatch(/^\s+at /m);
  });

  it('validates several files, and fails if any is invalid', () => {
    const good = fixture('good.yaml', BASE);
    const bad = fixture('bad.yaml', edit([['weight: 10', 'weight: -1']]));
    const r = rollgate(['validate', good, bad]);
    expect(r.stdout).toContain('good.yaml: 1 plan valid');
    expect(r.stdout).toContain('bad.yaml:35:15: spec.phases[0].weight: ');
    expect(r.code).toBe(1);
  });

  it('YAML alias and key errors are positioned diagnostics of their file, and the next files are still checked (issue 7, defect 9)', () => {
    const alias = fixture('alias.yaml', BASE.replace('    app: shop\n', '    app: *nope\n'));
    const key = fixture('key.yaml', BASE.replace('  vars:\n', '  vars:\n    ? [a, b]\n    : c\n'));
    const good = fixture('after.yaml', BASE);
    const bad = fixture('after-bad.yaml', edit([['weight: 10', 'weight: -1']]));
    const r = rollgate(['validate', alias, key, good, bad]);
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n')).toEqual([
      'alias.yaml:16:10: (yaml): unresolved alias *nope: no anchor &nope before it in this document',
      'alias.yaml: invalid: 1 error',
      'key.yaml:16:7: (yaml): expected a name as mapping key, got a list',
      'key.yaml: invalid: 1 error',
      'after.yaml: 1 plan valid',
      expect.stringMatching(/^after-bad\.yaml:35:15: spec\.phases\[0\]\.weight: /),
      'after-bad.yaml: invalid: 1 error',
      '',
    ]);
    expect(r.code).toBe(1);
  });

  it('a bomb fails fast with its position: {every: 1s, until: 10y} (issue 7, defect 4)', () => {
    const file = fixture('bomb.yaml', edit([['{ every: 1h, until: 4h }', '{ every: 1s, until: 10y }']]));
    const r = rollgate(['validate', file]);
    expect(r.stdout).toContain(`${file}:40:20: spec.phases[1].checkpoints: 315,360,000 checkpoints, more than the limit of 10,000 per phase`);
    expect(r.code).toBe(1);
    const plan = rollgate(['plan', file]);
    expect(plan.code).toBe(1);
    expect(plan.stderr).toContain('more than the limit of 10,000 per phase');
  });

  it('checks every document of a multi-document file and names the bad one', () => {
    const second = BASE.replace('name: shop', 'name: shop-2').replace('weight: 10', 'weight: eleven');
    const before = `${BASE}---\n# an empty document is skipped\n---\n`;
    const file = fixture('multi.yaml', before + second);
    const r = rollgate(['validate', file]);
    const line = before.split('\n').length - 1 + 35;
    expect(r.stdout).toContain(`${file}:${line}:15: spec.phases[0].weight: expected a percentage from 0 to 100, got "eleven"`);
    expect(r.code).toBe(1);
  });

  it("the judges' fixtures validate; a judge's error exits 1 and its warning 0, each at its line", () => {
    const JUDGES = path.resolve(__dirname, '../fixtures/plans');
    const all = readFileSync(path.join(JUDGES, 'judges-all.yaml'), 'utf8');
    const ok = rollgate(['validate', path.join(JUDGES, 'judges-all.yaml')]);
    expect(ok.stdout).toBe(`${path.join(JUDGES, 'judges-all.yaml')}: 1 plan valid\n`);
    expect(ok.code).toBe(0);

    // An error: a counts metric with an absolute bound (line 40, after `minSamples: 1000`).
    const bad = fixture('judge-error.yaml', all.replace('      minSamples: 1000\n', '      minSamples: 1000\n      max: 0.01\n'));
    const e = rollgate(['validate', bad]);
    expect(e.stdout.split('\n')).toEqual([
      'judge-error.yaml:40:12: spec.metrics[2].max: a counts metric has no max: the sequential test fails on evidence of a regression beyond tolerance (e >= 1/alpha), not on a value',
      'judge-error.yaml: invalid: 1 error',
      '',
    ]);
    expect(e.code).toBe(1);

    // A warning: tolerance written as 20 (meaning 20%?) on the relative bound (line 27).
    const warn = fixture('judge-warning.yaml', all.replace('      tolerance: 20%\n', '      tolerance: 20\n'));
    const w = rollgate(['validate', warn]);
    expect(w.stdout.split('\n')).toEqual([
      'judge-warning.yaml:27:18: spec.metrics[1].tolerance: warning: tolerance 20 is the fraction 20: the canary may be x21 the baseline; for 20% write tolerance: 20% (a fraction such as 0.2 is 20%)',
      'judge-warning.yaml: 1 plan valid (1 warning)',
      '',
    ]);
    expect(w.code).toBe(0);
  });

  it('prints warnings without failing', () => {
    const file = fixture('warn.yaml', BASE.replace('      weight: 100\n', '      weight: 50\n'));
    const r = rollgate(['validate', file]);
    expect(r.stdout).toContain(`${file}:39:15: spec.phases[1].weight: warning: the last phase leaves the canary at 50%`);
    expect(r.stdout).toContain(`${file}: 1 plan valid (1 warning)`);
    expect(r.code).toBe(0);
  });

  it('warns about an unset ${NAME} but still validates the plan', () => {
    const file = fixture('env.yaml', BASE.replace('http://prometheus:9090', '${PROM_URL}'));
    const unset = rollgate(['validate', file]);
    expect(unset.stdout).toContain(`${file}:8:14: spec.prometheus.address: warning: environment variable PROM_URL is not set`);
    expect(unset.code).toBe(0);
    const bad = rollgate(['validate', file], { PROM_URL: 'not a url' });
    expect(bad.stdout).toContain(`${file}:8:14: spec.prometheus.address: expected a URL`);
    expect(bad.code).toBe(1);
  });

  it('names an unreadable file and exits 1', () => {
    const r = rollgate(['validate', 'missing.yaml']);
    expect(r.stdout).toContain('missing.yaml: cannot read file: no such file or directory');
    expect(r.code).toBe(1);
    expect(r.all).not.toMatch(/^\s+at /m);
  });

  it('rejects a file without any plan', () => {
    const r = rollgate(['validate', fixture('empty.yaml', '# nothing here\n')]);
    expect(r.stdout).toContain('empty.yaml: invalid: no RolloutPlan document found');
    expect(r.code).toBe(1);
  });

  it('exits 2 on usage errors', () => {
    expect(rollgate(['validate']).code).toBe(2);
    expect(rollgate(['validate', '--bogus', 'x.yaml']).code).toBe(2);
    expect(rollgate(['no-such-command']).code).toBe(2);
    expect(rollgate([]).code).toBe(2);
    expect(rollgate(['--help']).code).toBe(0);
  });
});

describe('rollgate plan', () => {
  it('prints the timeline with absolute UTC times', () => {
    const r = rollgate(['plan', path.join(EXAMPLES, 'ramp-and-rollout.yaml'), '--from', '2025-11-01T10:00:00Z']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^canary\s+1%\s+0%\s+2025-11-01T14:00:00Z\s+waits 4h for spec\.startAt$/m);
    expect(r.stdout).toMatch(/^\s+1\/3\s+2025-11-01T14:15:00Z\s+15m$/m);
    expect(r.stdout).toMatch(/^rollout\s+100%\s+0%\s+2025-11-02T16:00:00Z/m);
    expect(r.stdout).toMatch(/^\s+8\/8\s+2025-11-04T04:00:00Z\s+12h$/m);
    expect(r.stdout).toContain('complete at 2025-11-04T04:00:00Z');
  });

  it('waits for the deployment window before raising the split', () => {
    // Friday 2025-10-31 18:00 Berlin is after the window: the dark launch starts Monday 09:00 CET.
    const r = rollgate(['plan', path.join(EXAMPLES, 'dark-canary-full.yaml'), '--from', '2025-10-31T17:00:00Z']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^dark\s+0%\s+100%\s+2025-11-03T08:00:00Z\s+waits 2d15h: outside the deployment windows/m);
    expect(r.stdout).toMatch(/^full\s+100%\s+0%\s+\S+\s+approval needed/m);
  });

  it('says how long a phase waits without millisecond noise (the two largest units)', () => {
    const r = rollgate(['plan', path.join(EXAMPLES, 'dark-canary-full.yaml'), '--from', '2025-11-02T17:12:27.547Z']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^dark\s+0%\s+100%\s+2025-11-03T08:00:00Z\s+waits 14h47m: outside the deployment windows/m);
  });

  it('exits 1 on an invalid plan, with the diagnostics on stderr', () => {
    const file = fixture('plan-bad.yaml', edit([['weight: 10', 'weight: ten']]));
    const r = rollgate(['plan', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file}:35:15: spec.phases[0].weight: `);
    expect(r.stdout).toBe('');
  });

  it('refuses a plan whose query does not parse, before printing any timeline', () => {
    const file = fixture('plan-promql.yaml', edit([['[{{window}}]))\n      max: 0.01', '[{{window}}])\n      max: 0.01']]));
    const r = rollgate(['plan', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file}:19:57: spec.metrics[0].query: PromQL syntax error: missing ")"`);
    expect(r.stdout).toBe('');
  });

  it('takes --from as now-DURATION, now+DURATION or a date, as README.md says', () => {
    const file = fixture('plan-relative.yaml', BASE);
    for (const from of ['now-1h', 'now-48h', 'now+2h', 'now']) {
      const r = rollgate(['plan', file, '--from', from]);
      expect(r.code, `${from}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toContain('timeline from ');
    }
    const d = rollgate(['plan', file, '--from', '2025-11-01']);
    expect(d.code, d.stderr).toBe(0);
    expect(d.stdout).toContain('timeline from 2025-11-01T00:00:00Z');
  });

  it('exits 2 on a bad --from', () => {
    const r = rollgate(['plan', fixture('plan-ok.yaml', BASE), '--from', 'yesterday']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('expected an RFC 3339 instant');
  });
});

describe('rollgate simulate', () => {
  it('refuses a plan whose query does not parse, before asking any Prometheus', () => {
    const file = fixture('simulate-promql.yaml', edit([['[{{window}}]))\n      max: 0.01', '[{{window}}])\n      max: 0.01']]));
    const r = rollgate(['simulate', file, '--from', 'now-1h', '--prometheus', 'http://127.0.0.1:9']);
    expect(r.code).toBe(1);
    expect(r.all).toContain(`${file}:19:57: spec.metrics[0].query: PromQL syntax error: missing ")"`);
    expect(r.all).not.toMatch(/^\s+at /m);
  });
});
