/**
 * `rollgate convert` (src/convert/, src/cli/convert.ts) on fixtures modelled on Argo Rollouts'
 * and Flagger's own documentation examples: each output equals its golden file, passes the
 * checks of `rollgate validate`, and carries a comment for each thing without an exact
 * equivalent; bad inputs are errors at their file, line, column and field.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { boundsOf, parseCondition } from '../../src/convert/argo-conditions.js';
import { goDurationMs } from '../../src/convert/plan-parts.js';
import { convertFiles } from '../../src/cli/convert.js';
import { hasErrors } from '../../src/plan/diagnostic.js';
import { loadPlanFile, loadPlanText } from '../../src/plan/load.js';

const ROOT = path.resolve(__dirname, '../..');
const DIR = 'test/fixtures/convert';
const fixture = (name: string) => path.join(DIR, name);

async function convert(files: string[], out?: string) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await convertFiles(files.map(fixture), { env: {}, ...(out ? { out } : {}) }, { stdout: (t) => stdout.push(t), stderr: (l) => stderr.push(l) });
  return { code, stdout: stdout.join(''), stderr };
}

/** [golden name, input files, comments the output must carry (each a fragment of one `#` comment)] */
const CASES: Array<[string, string[], string[]]> = [
  [
    'argo-istio-analysis',
    ['argo-istio-analysis.yaml'],
    [
      'revision: the image of the pod template',
      'approval: Argo Rollouts\' indefinite pause before it',
      'failureLimit 2: rollgate has no failure budget',
      'guard: the background analysis (test/fixtures/convert/argo-istio-analysis.yaml:39)',
      'count not converted',
      'Argo Rollouts goes to 100% after its last step',
      'checkpoints: Argo Rollouts waits here for a promotion',
    ],
  ],
  [
    'argo-nginx-steps',
    ['argo-nginx-steps.yaml', 'argo-templates.yaml'],
    [
      'Argo Rollouts creates the canary Ingress checkout-checkout-canary',
      'steps[0].setCanaryScale (test/fixtures/convert/argo-nginx-steps.yaml:32): no equivalent',
      'steps[4].setHeaderRoute (test/fixtures/convert/argo-nginx-steps.yaml:45): no equivalent',
      'steps[7].experiment (test/fixtures/convert/argo-nginx-steps.yaml:53): no equivalent',
      'argument canary-hash is the Latest pod-template-hash',
      'not converted: maxSurge, maxUnavailable',
      'rollgate\'s bounds are inclusive',
      'initialDelay 30s of steps[3] not converted',
      'the metrics\' inconclusiveLimits differ (1, 0)',
      'the pauses of this phase are checkpoints too',
      'metrics: Argo Rollouts only waits here',
    ],
  ],
  ['argo-gateway-plugin', ['argo-gateway-plugin.yaml'], ['revision: the image of Deployment reviews (spec.workloadRef)', 'guard: rollgate adds it (its defaults)']],
  [
    'flagger-podinfo-istio',
    ['flagger-podinfo-istio.yaml'],
    [
      'Flagger generates the VirtualService podinfo',
      'spec.service (port, targetPort, gateways, hosts) not converted',
      'Flagger\'s builtin request-success-rate for istio',
      '{{ interval }} is this metric\'s interval, 30s, kept as written',
      'named 404s-percentage (Flagger: "404s percentage")',
      'approval: webhook acceptance-gate',
      'webhook load-test (type rollout) not converted',
      'alert on-call (severity warn): set the environment variable FLAGGER_ALERT_ON_CALL_SLACK',
      'rolls back after threshold (5) failed checks',
      'progressDeadlineSeconds not converted',
      'autoscalerRef not converted',
      'Flagger\'s promotion',
    ],
  ],
  [
    'flagger-nginx-weights',
    ['flagger-nginx-weights.yaml'],
    [
      'revision: fill in what is being rolled out',
      'Flagger generates the canary Ingress podinfo-canary',
      'the mean upstream latency, in milliseconds',
      'stepWeightPromotion not converted',
      'approval: webhook promotion-gate',
      'event webhook canary-events',
      'set spec.prometheus.address',
    ],
  ],
  ['flagger-linkerd-vars', ['flagger-linkerd-vars.yaml'], ['Flagger generates the TrafficSplit backend-svc', 'vars: direction from templateVariables', 'named p99-latency-ms']],
];

describe('rollgate convert: documented examples', () => {
  it.each(CASES)('%s: the golden plan, valid, with its comments', async (name, files, comments) => {
    const r = await convert(files);
    expect(r.code, r.stderr.join('\n')).toBe(0);
    expect(r.stdout).toBe(readFileSync(path.join(ROOT, DIR, 'golden', `${name}.plan.yaml`), 'utf8'));
    const loaded = loadPlanText(r.stdout, 'out.yaml', { envMode: 'lenient', env: {} });
    expect(hasErrors(loaded.diagnostics)).toBe(false);
    expect(loaded.plans).toHaveLength(1);
    const commentText = r.stdout
      .split('\n')
      .filter((l) => l.trimStart().startsWith('#'))
      .map((l) => l.trim().replace(/^# ?/, ''))
      .join(' ');
    for (const c of comments) expect(commentText).toContain(c);
    expect(r.stderr[0]).toMatch(/^converted (Argo Rollouts Rollout|Flagger Canary) \S+ \(test\/fixtures\/convert\/[a-z-]+\.yaml:\d+\): \d+ notes \(# comments\)$/);
  });

  it('maps the steps to phases, checkpoints and approvals as Argo Rollouts runs them', async () => {
    const r = await convert(['argo-istio-analysis.yaml']);
    const plan = loadPlanText(r.stdout, 'out.yaml', { envMode: 'lenient', env: {} }).plans[0]!.plan;
    expect(plan.spec.phases.map((p) => [p.name, p.weight, p.approval, p.checkpoints])).toEqual([
      ['weight-20', 20, false, ['5m']],
      ['weight-40', 40, false, ['1m']],
      ['weight-60', 60, true, [{ every: 60_000, until: 180_000 }]],
      ['weight-80', 80, false, ['10m']],
      ['full', 100, false, ['1m']],
    ]);
    expect(plan.spec.guard).toMatchObject({ interval: 60_000, consecutive: 3, metrics: ['success-rate'] });
    expect(plan.spec.vars).toEqual({ 'service-name': 'rollouts-demo-canary.shop.svc.cluster.local' });
    expect(plan.spec.traffic).toEqual({ router: 'istio', istio: { virtualService: 'rollouts-demo-vsvc', route: 'primary', stable: { host: 'rollouts-demo', subset: 'stable' }, canary: { host: 'rollouts-demo', subset: 'canary' } } });
  });

  it('maps Flagger\'s weights, interval and threshold, and its template variables to rollgate\'s', async () => {
    const r = await convert(['flagger-podinfo-istio.yaml']);
    const plan = loadPlanText(r.stdout, 'out.yaml', { envMode: 'lenient', env: {} }).plans[0]!.plan;
    expect(plan.spec.phases.map((p) => p.weight)).toEqual([10, 20, 30, 40, 50, 100]);
    expect(plan.spec.phases.every((p) => JSON.stringify(p.checkpoints) === '["1m"]')).toBe(true);
    expect(plan.spec.analysis).toMatchObject({ retryInterval: 60_000, inconclusiveLimit: 4, onInconclusive: 'rollback' });
    expect(plan.spec.guard).toMatchObject({ interval: 60_000, consecutive: 5 });
    const q = Object.fromEntries(plan.spec.metrics.map((m) => [m.name, m.query]));
    expect(q['request-success-rate']).toContain('destination_workload_namespace="{{namespace}}",destination_workload=~"{{target}}"');
    expect(q['request-success-rate']).toContain('[{{window}}]');
    expect(q['request-duration']).toContain('[30s]');
    expect(q['404s-percentage']).not.toMatch(/\{\{ /);
    expect(plan.spec.notify).toEqual([{ webhook: '${FLAGGER_ALERT_ON_CALL_SLACK}', on: ['hold', 'pause', 'rollback'] }]);
  });

  it('writes the plan to --out, and the file passes validate', async () => {
    const out = path.join(mkdtempSync(path.join(tmpdir(), 'rollgate-convert-')), 'plan.yaml');
    const r = await convert(['flagger-linkerd-vars.yaml'], out);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    const loaded = await loadPlanFile(out, { envMode: 'lenient', env: {} });
    expect(hasErrors(loaded.diagnostics)).toBe(false);
    expect(loaded.plans[0]!.plan.metadata).toEqual({ name: 'backend', namespace: 'prod' });
  });
});

describe('rollgate convert: inputs it refuses', () => {
  /** [input, the one stderr line] */
  const BAD: Array<[string, string]> = [
    [
      'bad-blue-green.yaml',
      'test/fixtures/convert/bad-blue-green.yaml:15:7: spec.strategy.blueGreen: a blue-green Rollout has no traffic steps to convert: rollgate converts canary strategies (spec.strategy.canary.steps); in rollgate a blue-green switch is one phase at weight 100 with approval: true',
    ],
    [
      'bad-not-a-rollout.yaml',
      'test/fixtures/convert/bad-not-a-rollout.yaml: expected an Argo Rollouts Rollout (argoproj.io/v1alpha1) or a Flagger Canary (flagger.app/v1beta1): found Deployment (apps/v1), Service (v1)',
    ],
    ['bad-no-canary-strategy.yaml', 'test/fixtures/convert/bad-no-canary-strategy.yaml:8:13: spec.strategy: expected spec.strategy.canary (a canary Rollout): nothing else can be converted'],
    [
      'bad-condition.yaml',
      'test/fixtures/convert/bad-condition.yaml:22:25: spec.metrics[0].successCondition: cannot convert "result[0] == result[1]": expected comparisons of result[0] with numbers (result[0] >= 0.95, joined by &&), optionally with isNaN(result[0]) || ...',
    ],
    [
      'bad-missing-template.yaml',
      'test/fixtures/convert/bad-missing-template.yaml:13:31: spec.strategy.canary.steps[1].analysis.templates[0].templateName: AnalysisTemplate elsewhere is not in the input: give the file that holds it as a further argument (rollgate convert rollout.yaml templates.yaml)',
    ],
    [
      'bad-flagger-ab.yaml',
      'test/fixtures/convert/bad-flagger-ab.yaml:16:5: spec.analysis: A/B testing (match and iterations): rollgate moves traffic by weight, so a Canary without stepWeight or stepWeights has nothing to convert',
    ],
    ['no-such-file.yaml', 'test/fixtures/convert/no-such-file.yaml: cannot read file: no such file or directory'],
  ];

  it.each(BAD)('%s: exit 1, one error naming the place', async (file, line) => {
    const r = await convert([file]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toEqual([line]);
  });

  it('a plan that needs filling in is printed with its validation errors and exit 1', async () => {
    const r = await convert(['needs-metrics.yaml']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('metrics: the Rollout has no analysis with a Prometheus metric');
    expect(r.stderr).toContain('<stdout>:26:12: spec.metrics: expected at least one metric, got a list');
    expect(r.stderr[r.stderr.length - 1]).toBe(
      '<stdout>: the converted plan does not pass rollgate validate yet: fill in or fix what the errors above name, then run rollgate validate',
    );
  });
});

describe('rollgate convert: bounded whatever the input', () => {
  it('a Rollout of a 1 MiB file of setWeight steps is refused at the step past the phase limit', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'rollgate-convert-')), 'many.yaml');
    const head = 'apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: many}\nspec:\n  strategy:\n    canary:\n      steps:\n';
    const step = '        - setWeight: 5\n';
    writeFileSync(file, head + step.repeat(Math.floor((1024 * 1024 - head.length) / step.length)));
    const stderr: string[] = [];
    const code = await convertFiles([file], { env: {} }, { stdout: () => {}, stderr: (l) => stderr.push(l) });
    expect(code).toBe(1);
    expect(stderr).toEqual([`${file}:107:11: spec.strategy.canary.steps[99]: more than 100 phases, rollgate's limit per plan (with the last one at 100%)`]);
  });
});

describe('Argo Rollouts conditions as bounds', () => {
  const bounds = (success?: string, failure?: string) =>
    boundsOf(success === undefined ? null : parseCondition(success, 'success'), failure === undefined ? null : parseCondition(failure, 'failure'));

  it.each([
    ['result[0] >= 0.95', undefined, { min: 0.95, boundaryDiffers: false }],
    ['result >= 0.95', undefined, { min: 0.95, boundaryDiffers: false }],
    ['0.95 <= result[0]', undefined, { min: 0.95, boundaryDiffers: false }],
    ['result[0] < 0.05', undefined, { max: 0.05, boundaryDiffers: true }],
    ['result[0] >= 0.9 && result[0] <= 1', undefined, { min: 0.9, max: 1, boundaryDiffers: false }],
    ['len(result) == 0 || result[0] >= 0.95', undefined, { min: 0.95, boundaryDiffers: false }],
    [undefined, 'result[0] > 0.01', { max: 0.01, boundaryDiffers: false }],
    [undefined, 'result[0] >= 0.01', { max: 0.01, boundaryDiffers: true }],
    [undefined, 'result[0] < 0.5 || result[0] > 2', { min: 0.5, max: 2, boundaryDiffers: false }],
    ['result[0] < 0.3', 'result[0] >= 0.5', { max: 0.3, rollbackAbove: 0.5, boundaryDiffers: true }],
    ['result[0] >= 0.95', 'result[0] < 0.9', { min: 0.95, rollbackBelow: 0.9, boundaryDiffers: false }],
  ] as const)('success %s, failure %s', (s, f, expected) => {
    expect(bounds(s, f)).toEqual(expected);
  });

  it('no data on either side of ||', () => {
    expect(parseCondition('isNaN(result[0]) || result[0] > 0.01', 'failure')).toEqual({ comparisons: [{ op: '>', value: 0.01 }], onNoData: true });
    expect(parseCondition('(isNaN(result[0]) || result[0] >= 0.95)', 'success')).toEqual({ comparisons: [{ op: '>=', value: 0.95 }], onNoData: true });
  });

  it.each(['result[0] == result[1]', 'result[0] >= 0.9 || result[0] <= 0.1', 'asInt(result) > 3', 'result[0].code == 200'])('not understood: %s', (s) => {
    expect(parseCondition(s, 'success')).toBeNull();
  });

  it('Go durations', () => {
    expect([goDurationMs('1m30s'), goDurationMs('1.5h'), goDurationMs('500ms'), goDurationMs('0'), goDurationMs('5 min')]).toEqual([90_000, 5_400_000, 500, 0, null]);
  });
});

describe('the migration guides', () => {
  it.each([
    ['migrating-from-argo-rollouts.md', 'argo-istio-analysis'],
    ['migrating-from-flagger.md', 'flagger-podinfo-istio'],
  ])('%s shows the input and the plan of %s as they are', (guide, name) => {
    const text = readFileSync(path.join(ROOT, 'docs', guide), 'utf8');
    expect(text).toContain(`\`\`\`yaml\n${readFileSync(path.join(ROOT, DIR, `${name}.yaml`), 'utf8')}\`\`\``);
    expect(text).toContain(`\`\`\`yaml\n${readFileSync(path.join(ROOT, DIR, 'golden', `${name}.plan.yaml`), 'utf8')}\`\`\``);
    expect(text).toContain(`rollgate convert ${DIR}/${name}.yaml`);
  });
});
