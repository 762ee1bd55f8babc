import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CustomResourceDefinition } from 'kubernetes-models/apiextensions.k8s.io/v1/CustomResourceDefinition';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import {
  buildRolloutPlanCrd,
  crdYaml,
  rolloutPlanOpenApiSchema,
  structuralProblems,
  toStructural,
  type OpenApiSchema,
} from '../../src/cluster/crd.js';
import { planSchema } from '../../src/plan/schema.js';
import { validateOpenApi } from './kube-crd-openapi.js';

const ROOT = path.resolve(__dirname, '../..');
const SHARED_EXAMPLES = path.resolve(ROOT, '../shared/examples');
const CRD_FILE = path.join(ROOT, 'deploy/base/crd.yaml');

const schema = rolloutPlanOpenApiSchema();
const spec = schema.properties!.spec!;

function documents(file: string): Record<string, unknown>[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as Record<string, unknown>);
}

const examplePlans = [
  ...readdirSync(SHARED_EXAMPLES).filter((f) => f.endsWith('.yaml')).map((f) => path.join(SHARED_EXAMPLES, f)),
  path.join(ROOT, 'deploy/examples/rolloutplan.yaml'),
  path.join(ROOT, 'test/fixtures/plans/valid.yaml'),
  ...readdirSync(path.join(ROOT, 'test/fixtures/plans')).filter((f) => f.startsWith('judge')).map((f) => path.join(ROOT, 'test/fixtures/plans', f)),
].flatMap((file) => documents(file).map((doc, i) => ({ name: `${path.relative(path.dirname(ROOT), file)}#${i}`, doc })));

/** A valid plan, deep-copied, for mutating into invalid ones. */
const base = () => structuredClone(documents(path.join(ROOT, 'test/fixtures/plans/valid.yaml'))[0]!) as { metadata: Record<string, unknown>; spec: Record<string, any> };

function walk(node: OpenApiSchema, visit: (n: OpenApiSchema, at: string) => void, at = ''): void {
  visit(node, at);
  for (const [k, child] of Object.entries(node.properties ?? {})) walk(child, visit, `${at}.${k}`);
  if (node.additionalProperties) walk(node.additionalProperties, visit, `${at}.*`);
  if (node.items) walk(node.items, visit, `${at}[]`);
}

describe('the committed CRD', () => {
  it('deploy/base/crd.yaml is what src/cluster/crd.ts generates from the plan schema', () => {
    const committed = readFileSync(CRD_FILE, 'utf8');
    if (committed !== crdYaml()) {
      expect.fail('deploy/base/crd.yaml is out of date with src/plan/schema.ts: run `npm run gen:crd` and commit the result');
    }
  });

  it('is a valid apiextensions.k8s.io/v1 CustomResourceDefinition (kubernetes-models)', () => {
    const crd = parse(readFileSync(CRD_FILE, 'utf8'));
    expect(() => new CustomResourceDefinition(crd).validate()).not.toThrow();
  });

  it('names rolloutplans.rollgate.dev v1alpha1, namespaced, short name rp, with a status subresource', () => {
    const crd = buildRolloutPlanCrd() as any;
    expect(crd.metadata.name).toBe('rolloutplans.rollgate.dev');
    expect(crd.spec.group).toBe('rollgate.dev');
    expect(crd.spec.scope).toBe('Namespaced');
    expect(crd.spec.names).toMatchObject({ kind: 'RolloutPlan', plural: 'rolloutplans', singular: 'rolloutplan', shortNames: ['rp'] });
    expect(crd.spec.versions).toHaveLength(1);
    expect(crd.spec.versions[0]).toMatchObject({ name: 'v1alpha1', served: true, storage: true, subresources: { status: {} } });
  });

  it('prints Status, Phase, Weight, Checkpoint, Last decision and Age; -o wide adds the guard\'s Strikes and the Revision', () => {
    const cols = (buildRolloutPlanCrd() as any).spec.versions[0].additionalPrinterColumns as { name: string; jsonPath: string; priority?: number }[];
    const visible = cols.filter((c) => !c.priority).map((c) => [c.name, c.jsonPath]);
    expect(cols.filter((c) => c.priority === 1).map((c) => [c.name, c.jsonPath])).toEqual([
      ['Strikes', '.status.guard.strikes'],
      ['Revision', '.spec.revision'],
    ]);
    expect(visible).toEqual([
      ['Status', '.status.status'],
      ['Phase', '.status.phase'],
      ['Weight', '.status.weight'],
      ['Checkpoint', '.status.checkpoint'],
      ['Last decision', '.status.lastDecision'],
      ['Age', '.metadata.creationTimestamp'],
    ]);
  });
});

describe('the generated schema is structural', () => {
  it('structuralProblems finds nothing', () => expect(structuralProblems(schema)).toEqual([]));

  it('every node is typed or explicitly keeps unknown values; no $ref, default or additionalProperties: false', () => {
    const untyped: string[] = [];
    walk(schema, (n, at) => {
      if (!n.type && !n['x-kubernetes-preserve-unknown-fields'] && !n['x-kubernetes-int-or-string']) untyped.push(at);
      const text = JSON.stringify(Object.fromEntries(Object.entries(n).filter(([k]) => k !== 'properties' && k !== 'items' && k !== 'additionalProperties')));
      expect(text, at).not.toMatch(/"\$ref"|"\$schema"|"default"|"propertyNames"|"const"/);
      expect(n.additionalProperties as unknown, at).not.toBe(false);
    });
    expect(untyped).toEqual([]);
  });

  it('keeps unknown values only at the unions: host:port lists, tolerance (20% or 0.2) and checkpoints, plus status', () => {
    const open: string[] = [];
    walk(schema, (n, at) => {
      if (n['x-kubernetes-preserve-unknown-fields']) open.push(at);
    });
    expect(open).toEqual([
      '.spec.traffic.nginx.stable',
      '.spec.traffic.nginx.canary',
      '.spec.metrics[].tolerance',
      '.spec.phases[].checkpoints',
      '.status',
      '.status.records[]',
    ]);
    expect(spec.properties!.phases!.items!.properties!.checkpoints!.description).toMatch(/\{every, until\}/);
  });

  it('maps (vars, headers, per-metric thresholds) are additionalProperties of a typed value', () => {
    expect(spec.properties!.vars).toEqual(expect.objectContaining({ type: 'object', additionalProperties: { type: 'string' } }));
    expect(spec.properties!.prometheus!.properties!.headers!.additionalProperties).toEqual({ type: 'string' });
    const thresholds = spec.properties!.phases!.items!.properties!.thresholds!;
    expect(thresholds.additionalProperties!.properties!.rollbackAbove).toEqual({ type: 'number' });
  });

  it('a positive weight is an exclusive minimum in OpenAPI 3.0 form', () => {
    expect(spec.properties!.metrics!.items!.properties!.weight).toMatchObject({ type: 'number', minimum: 0, exclusiveMinimum: true });
  });

  it('defaults are documented, not applied by the API server', () => {
    expect(spec.properties!.analysis!.properties!.onInconclusive!.description).toBe('Default: "pause".');
  });

  it('metadata restricts only the name, to a DNS-1123 label', () => {
    const metadata = schema.properties!.metadata!;
    expect(Object.keys(metadata.properties!)).toEqual(['name']);
    expect(validateOpenApi({ name: 'checkout' }, metadata)).toEqual([]);
    expect(validateOpenApi({ name: 'Checkout.v2' }, metadata)).not.toEqual([]);
    expect(validateOpenApi({ name: 'a'.repeat(64) }, metadata)).not.toEqual([]);
  });

  it('toStructural refuses a JSON Schema keyword it cannot express, naming the path', () => {
    expect(() => toStructural({ type: 'object', properties: { a: { type: 'string', contentEncoding: 'base64' } } }, 'spec')).toThrow(
      /spec\.a: JSON Schema keyword "contentEncoding"/,
    );
  });

  it('structuralProblems reports what the API server would refuse', () => {
    const bad: OpenApiSchema = {
      type: 'object',
      properties: {
        spec: { type: 'object', properties: { a: {} }, additionalProperties: { type: 'string' } },
        n: { type: 'number', exclusiveMinimum: 0 as unknown as boolean },
      },
      required: ['missing'],
    };
    const problems = structuralProblems(bad);
    expect(problems).toContain('openAPIV3Schema.properties.spec.properties.a: no type');
    expect(problems).toContain('openAPIV3Schema.properties.spec: properties and additionalProperties are mutually exclusive');
    expect(problems).toContain('openAPIV3Schema.properties.n: exclusiveMinimum must be a boolean in OpenAPI v3.0');
    expect(problems).toContain('openAPIV3Schema: required "missing" is not a property');
  });
});

describe('the CRD schema accepts every example plan', () => {
  it('there are examples', () => expect(examplePlans.length).toBeGreaterThanOrEqual(6));

  it('a plan using all four judges (threshold with a floor, relative, sequential, mann-whitney) is among them', () => {
    const all = examplePlans.find((e) => e.name.endsWith('judges-all.yaml#0'));
    const metrics = (all?.doc.spec as { metrics: Record<string, unknown>[] }).metrics;
    expect(metrics.map((m) => [m.samples !== undefined, m.baseline !== undefined, m.counts !== undefined, m.test ?? null])).toEqual([
      [true, false, false, null],
      [false, true, false, null],
      [false, false, true, 'sequential'],
      [false, true, false, 'mann-whitney'],
    ]);
    expect(validateOpenApi(all!.doc, schema)).toEqual([]);
  });

  it('the judges\' fields are typed: a counts query that is not a string, an unknown test, a confidence of 1', () => {
    const plan = base();
    plan.spec.metrics[0] = { name: 'e', counts: { canary: { bad: 1, total: 'b' }, baseline: { bad: 'c', total: 'd' } }, test: 'bayesian', confidence: 1 };
    const problems = validateOpenApi(plan, schema);
    expect(problems).toContain('.spec.metrics[0].counts.canary.bad: must be a string');
    expect(problems.some((p) => p.startsWith('.spec.metrics[0].test: must be one of sequential, mann-whitney'))).toBe(true);
    expect(problems).toContain('.spec.metrics[0].confidence: above the maximum 1');
    expect(planSchema.safeParse(plan).success).toBe(false);
  });

  it.each(examplePlans)('$name', ({ doc }) => {
    expect(planSchema.safeParse(doc).error).toBeUndefined();
    expect(validateOpenApi(doc, schema)).toEqual([]);
  });
});

describe('the CRD schema rejects invalid plans, naming the field', () => {
  const cases: [string, (p: ReturnType<typeof base>) => void, RegExp][] = [
    ['a plan without spec', (p) => delete (p as any).spec, /^\.spec: required/],
    ['a spec without revision', (p) => delete p.spec.revision, /^\.spec\.revision: required/],
    ['a numeric revision', (p) => (p.spec.revision = 42), /^\.spec\.revision: must be a string/],
    ['an unknown router', (p) => (p.spec.traffic.router = 'linkerd'), /^\.spec\.traffic\.router: must be one of file, nginx/],
    ['a misspelt field', (p) => (p.spec.phases[0].wieght = 5), /^\.spec\.phases\[0\]\.wieght: unknown field/],
    ['a weight above 100', (p) => (p.spec.phases[0].weight = 150), /^\.spec\.phases\[0\]\.weight: above the maximum 100/],
    ['a negative mirror', (p) => (p.spec.phases[0].mirror = -1), /^\.spec\.phases\[0\]\.mirror: below the minimum 0/],
    ['no phases', (p) => (p.spec.phases = []), /^\.spec\.phases: must have at least 1 items/],
    ['a phase without checkpoints', (p) => delete p.spec.phases[0].checkpoints, /^\.spec\.phases\[0\]\.checkpoints: required/],
    ['a metric name with a space', (p) => (p.spec.metrics[0].name = 'error rate'), /^\.spec\.metrics\[0\]\.name: does not match/],
    ['a metric weight of 0', (p) => (p.spec.metrics[0].weight = 0), /^\.spec\.metrics\[0\]\.weight: below the minimum 0/],
    ['a window starting at 25:00', (p) => (p.spec.windows[0].start = '25:00'), /^\.spec\.windows\[0\]\.start: does not match/],
    ['an unknown weekday', (p) => (p.spec.windows[0].days = ['mon', 'someday']), /^\.spec\.windows\[0\]\.days\[1\]: must be one of mon/],
    ['a fractional inconclusiveLimit', (p) => (p.spec.analysis = { inconclusiveLimit: 1.5 }), /^\.spec\.analysis\.inconclusiveLimit: must be an integer/],
    ['a non-string var', (p) => (p.spec.vars.replicas = 3), /^\.spec\.vars\.replicas: must be a string/],
    ['a threshold that is not a number', (p) => (p.spec.phases[0].thresholds = { 'error-rate': { max: 'low' } }), /^\.spec\.phases\[0\]\.thresholds\.error-rate\.max: must be a number/],
    ['a metadata name that is not a DNS-1123 label', (p) => (p.metadata.name = 'Shop_1'), /^\.metadata\.name: does not match/],
  ];

  it.each(cases)('%s', (_what, mutate, expected) => {
    const plan = base();
    mutate(plan);
    const problems = validateOpenApi(plan, schema);
    expect(problems.some((p) => expected.test(p)), problems.join('\n')).toBe(true);
    // The plan schema (what `rollgate validate` and the controller use) refuses it too.
    expect(planSchema.safeParse(plan).success).toBe(false);
  });

  it('checkpoint shapes are left to rollgate: the schema keeps them, the plan schema judges them', () => {
    const plan = base();
    plan.spec.phases[0].checkpoints = 'soon';
    expect(validateOpenApi(plan, schema)).toEqual([]);
    expect(planSchema.safeParse(plan).success).toBe(false);
  });

  it('a ${NAME} reference is accepted where a pattern applies, as the controller expands it first', () => {
    const plan = base();
    plan.spec.windows[0].start = '${WINDOW_START}';
    plan.spec.metrics[0].name = '${METRIC}';
    expect(validateOpenApi(plan, schema)).toEqual([]);
  });

  it('status accepts what the controller writes, and fields a newer controller adds', () => {
    const status = {
      observedGeneration: 3,
      revision: '1.2.3',
      planHash: 'sha256:abc',
      status: 'progressing',
      phase: 'canary',
      weight: 10,
      mirror: 0,
      checkpoint: '2/3',
      lastDecision: 'continue',
      lastDecisionAt: '2025-11-01T15:00:00.412Z',
      nextAt: null,
      seq: 17,
      records: [{ seq: 17, decision: 'continue', metrics: [{ name: 'error-rate', value: 0.001 }] }],
      counts: { start: 1, continue: 16 },
      lastRequest: { id: 'r1', accepted: true, message: 'paused', seq: 18 },
      conditions: [{ type: 'Ready', status: 'True' }],
    };
    expect(validateOpenApi({ ...base(), status }, schema)).toEqual([]);
    expect(validateOpenApi({ ...base(), status: { ...status, weight: 'ten' } }, schema)).toEqual(['.status.weight: must be a number']);
    expect(validateOpenApi({ ...base(), status: { ...status, counts: { start: 'one' } } }, schema)).toEqual(['.status.counts.start: must be an integer']);
  });
});
