import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatDiagnostic, formatPath } from '../../src/plan/diagnostic.js';
import { canonicalJson, loadPlanFile, loadPlans, loadPlanText } from '../../src/plan/load.js';

const EXAMPLES = path.resolve(__dirname, '../../../shared/examples');
const BASE = readFileSync(path.resolve(__dirname, '../fixtures/plans/valid.yaml'), 'utf8');
const lenient = { envMode: 'lenient' as const, env: {} };
const strict = { envMode: 'strict' as const, env: {} };

describe('the shipped examples', () => {
  const files = readdirSync(EXAMPLES).filter((f) => f.endsWith('.yaml'));
  it('are all there', () => expect(files.length).toBeGreaterThanOrEqual(4));
  it.each(files)('%s loads without errors', async (f) => {
    const r = await loadPlanFile(path.join(EXAMPLES, f), lenient);
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(r.plans).toHaveLength(1);
    expect(r.plans[0]!.hash).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});

describe('loadPlanText', () => {
  it('returns the typed plan, its file, document index and hash', () => {
    const r = loadPlanText(BASE, 'a.yaml', lenient);
    expect(r.diagnostics).toEqual([]);
    const [lp] = r.plans;
    expect(lp!.file).toBe('a.yaml');
    expect(lp!.document).toBe(0);
    expect(lp!.plan.spec.phases[1]!.checkpoints).toEqual([{ every: 3_600_000, until: 14_400_000 }]);
    expect(lp!.plan.spec.guard.interval).toBe(30_000);
  });

  it('hashes the document as written: key order, comments and layout do not matter', () => {
    const reordered = BASE.replace('apiVersion: rollgate.dev/v1alpha1\nkind: RolloutPlan\n', 'kind: RolloutPlan # the kind\napiVersion: "rollgate.dev/v1alpha1"\n');
    const a = loadPlanText(BASE, 'a.yaml', lenient).plans[0]!.hash;
    expect(loadPlanText(reordered, 'b.yaml', lenient).plans[0]!.hash).toBe(a);
    expect(loadPlanText(BASE.replace('max: 0.5', 'max: 0.6'), 'c.yaml', lenient).plans[0]!.hash).not.toBe(a);
  });

  it('hashes after env expansion', () => {
    const text = BASE.replace('http://prometheus:9090', '${PROM}');
    const h1 = loadPlanText(text, 'a.yaml', { envMode: 'strict', env: { PROM: 'http://a:9090' } }).plans[0]!.hash;
    const h2 = loadPlanText(text, 'a.yaml', { envMode: 'strict', env: { PROM: 'http://b:9090' } }).plans[0]!.hash;
    expect(h1).not.toBe(h2);
  });

  it('canonical JSON sorts keys at every level', () => {
    expect(canonicalJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[{"y":2,"z":1}]},"b":1}');
  });

  it('loads every document, skips empty ones, and keeps the valid ones when another is invalid', () => {
    const second = BASE.replace('name: shop', 'name: other');
    const broken = BASE.replace('name: shop', 'name: broken').replace('weight: 10', 'weight: x');
    const r = loadPlanText(`${BASE}---\n---\n# comment only\n---\n${second}---\n${broken}`, 'm.yaml', lenient);
    expect(r.plans.map((p) => [p.plan.metadata.name, p.document])).toEqual([
      ['shop', 0],
      ['other', 3],
    ]);
    expect(r.diagnostics).toHaveLength(1);
    expect(r.diagnostics[0]).toMatchObject({ path: 'spec.phases[0].weight', severity: 'error' });
  });

  it('rejects two documents with the same rollout identity', () => {
    const r = loadPlanText(`${BASE}---\n${BASE}`, 'd.yaml', lenient);
    expect(r.plans).toHaveLength(1);
    expect(r.diagnostics[0]!.message).toContain('duplicate rollout default/shop');
  });

  it.each([
    ['a YAML syntax error', 'a: b: c\n', 1, '(yaml)', 'Nested mappings'],
    ['a list instead of a mapping', '- 1\n', 1, '(document)', 'expected a RolloutPlan mapping, got a list'],
    ['another kind', 'apiVersion: v1\nkind: ConfigMap\n', 2, 'kind', 'expected kind RolloutPlan, got "ConfigMap"'],
    ['no kind', 'apiVersion: v1\n', 1, 'kind', 'got no kind'],
  ])('reports %s', (_name, text, line, p, message) => {
    const r = loadPlanText(text, 'x.yaml', lenient);
    expect(r.plans).toEqual([]);
    expect(r.diagnostics[0]).toMatchObject({ file: 'x.yaml', line, path: p, severity: 'error' });
    expect(r.diagnostics[0]!.message).toContain(message);
  });

  it('strict mode: an unset variable is an error at its position and the plan is not returned', () => {
    const r = loadPlanText(BASE.replace('http://prometheus:9090', 'http://${PROM_HOST}:9090'), 's.yaml', strict);
    expect(r.plans).toEqual([]);
    expect(r.diagnostics.map(formatDiagnostic)).toContain(
      's.yaml:8:21: spec.prometheus.address: environment variable PROM_HOST is not set (referenced as ${PROM_HOST})',
    );
  });

  it('lenient mode: an unset variable in a checked field is a warning and the plan is still returned', () => {
    const r = loadPlanText(BASE.replace('http://prometheus:9090', '${PROM_URL}'), 'l.yaml', lenient);
    expect(r.plans).toHaveLength(1);
    expect(r.diagnostics.map((d) => d.severity)).toEqual(['warning']);
    expect(r.plans[0]!.plan.spec.prometheus.address).toBeUndefined();
  });

  it('points a missing key at its parent mapping', () => {
    const r = loadPlanText(BASE.replace('    router: nginx\n', ''), 'k.yaml', lenient);
    expect(r.diagnostics[0]).toMatchObject({ line: 9, col: 3, path: 'spec.traffic.router' });
    expect(r.diagnostics[0]!.message).toContain('missing required field "router"');
  });

  it('reads the nginx router mode (lua or reload; absent: detected on the first apply) and rejects others with its position', () => {
    const withMode = (mode: string) => BASE.replace('      configFile: /etc/nginx/split.conf\n', `      configFile: /etc/nginx/split.conf\n      mode: ${mode}\n`);
    expect(loadPlanText(BASE, 'n.yaml', lenient).plans[0]!.plan.spec.traffic.nginx!.mode).toBeUndefined();
    expect(loadPlanText(withMode('lua'), 'n.yaml', lenient).plans[0]!.plan.spec.traffic.nginx!.mode).toBe('lua');
    expect(loadPlanText(withMode('reload'), 'n.yaml', lenient).plans[0]!.plan.spec.traffic.nginx!.mode).toBe('reload');
    const bad = loadPlanText(withMode('openresty'), 'n.yaml', lenient);
    expect(bad.plans).toEqual([]);
    expect(bad.diagnostics[0]).toMatchObject({ line: 13, path: 'spec.traffic.nginx.mode' });
    expect(bad.diagnostics[0]!.message).toContain('expected lua (split set without a reload; needs the nginx Lua module) or reload');
  });
});

describe('formatting', () => {
  it.each([
    [['spec', 'metrics', 1, 'max'], 'spec.metrics[1].max'],
    [['spec', 'traffic', 'gateway-api'], 'spec.traffic.gateway-api'],
    [['spec', 'phases', 0, 'thresholds', 'p99.latency'], 'spec.phases[0].thresholds["p99.latency"]'],
    [[], '(document)'],
  ])('formatPath(%j) = %s', (p, out) => {
    expect(formatPath(p)).toBe(out);
  });

  it('formats errors, warnings and file-level problems', () => {
    const d = { file: 'a.yaml', line: 3, col: 5, path: 'spec.x', message: 'bad', severity: 'error' as const };
    expect(formatDiagnostic(d)).toBe('a.yaml:3:5: spec.x: bad');
    expect(formatDiagnostic({ ...d, severity: 'warning' })).toBe('a.yaml:3:5: spec.x: warning: bad');
    expect(formatDiagnostic({ ...d, line: 0, col: 0, path: '(file)', message: 'cannot read file: x' })).toBe('a.yaml: cannot read file: x');
    // An object from the Kubernetes API has no lines, but keeps its field path.
    expect(formatDiagnostic({ ...d, file: 'rolloutplan learning/analyzer', line: 0, col: 0 })).toBe('rolloutplan learning/analyzer: spec.x: bad');
  });
});

describe('loadPlans', () => {
  it('reads files and the *.yaml / *.yml of directories, not recursively, and rejects duplicate rollouts', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rollgate-plans-'));
    writeFileSync(path.join(dir, 'a.yaml'), BASE);
    writeFileSync(path.join(dir, 'b.yml'), BASE.replace('name: shop', 'name: shop-b'));
    writeFileSync(path.join(dir, 'notes.txt'), 'not a plan');
    writeFileSync(path.join(dir, 'c.yaml'), BASE); // same rollout as a.yaml
    const r = await loadPlans([dir, path.join(dir, 'missing.yaml')], strict);
    expect(r.plans.map((p) => path.basename(p.file))).toEqual(['a.yaml', 'b.yml']);
    expect(r.diagnostics.map((d) => d.message)).toEqual([
      'cannot read file: no such file or directory',
      expect.stringContaining('duplicate rollout default/shop: already defined in'),
    ]);
  });
});

describe('sections the caller does not read (simulate: spec.notify, spec.traffic)', () => {
  const example = readFileSync(path.join(EXAMPLES, 'dark-canary-full.yaml'), 'utf8');
  const unread = [['spec', 'notify'], ['spec', 'traffic']];

  it('need no value for their ${NAME} references, which stay as written', () => {
    expect(loadPlanText(example, 'd.yaml', strict).diagnostics.map((d) => d.message)).toEqual([
      'environment variable ROLLGATE_SLACK_WEBHOOK is not set (referenced as ${ROLLGATE_SLACK_WEBHOOK})',
    ]);
    const r = loadPlanText(example, 'd.yaml', { ...strict, unread });
    expect(r.diagnostics).toEqual([]);
    expect(r.plans[0]!.plan.spec.notify[0]!.webhook).toBe('${ROLLGATE_SLACK_WEBHOOK}');
  });

  it('are not expanded even when the variable is set: the secret is not read', () => {
    const r = loadPlanText(example, 'd.yaml', { envMode: 'strict', env: { ROLLGATE_SLACK_WEBHOOK: 'https://hooks.example/secret' }, unread });
    expect(JSON.stringify(r.plans[0]!.plan)).not.toContain('secret');
  });

  it('leave the other sections strict: an unset variable there is still an error naming it', () => {
    const text = example.replace('address: http://127.0.0.1:9090', 'address: ${PROM_ADDRESS}').replace('job: stage-e', 'job: ${JOB}');
    const r = loadPlanText(text, 'd.yaml', { ...strict, unread });
    expect(r.plans).toEqual([]);
    expect(r.diagnostics.map((d) => `${d.path}: ${d.message}`)).toEqual([
      'spec.prometheus.address: environment variable PROM_ADDRESS is not set (referenced as ${PROM_ADDRESS})',
      'spec.vars.job: environment variable JOB is not set (referenced as ${JOB})',
    ]);
  });

  it('validate (lenient) still warns about the unset webhook variable', () => {
    expect(loadPlanText(example, 'd.yaml', lenient).diagnostics.map((d) => `${d.severity}: ${d.path}`)).toEqual(['warning: spec.notify[0].webhook']);
  });
});
