/**
 * The JSON Schema of plan files (src/plan/json-schema.ts, `rollgate schema`), checked with a
 * real JSON Schema validator (Ajv's draft 2020-12 build): it accepts every example plan the
 * project ships and documents, rejects the invalid fixtures (test/fixtures/plans/invalid) at the
 * field `rollgate validate` names, and agrees with the CRD's openAPIV3Schema where both apply.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { rolloutPlanOpenApiSchema } from '../../src/cluster/crd.js';
import { formatPath } from '../../src/plan/diagnostic.js';
import { parseDuration, parseInstant } from '../../src/plan/duration.js';
import { planJsonSchema, planJsonSchemaText } from '../../src/plan/json-schema.js';
import { loadPlanFile } from '../../src/plan/load.js';
import { validateOpenApi } from './kube-crd-openapi.js';

const ROOT = path.resolve(__dirname, '../..');
const SHARED_EXAMPLES = path.resolve(ROOT, '../shared/examples');
const FIXTURES = path.join(ROOT, 'test/fixtures/plans');
const INVALID = path.join(FIXTURES, 'invalid');
const MODELINE = /^# yaml-language-server: \$schema=(\S+)$/m;

const schema = planJsonSchema();
const ajv = new Ajv2020({ allErrors: true, strict: true });
const validate = ajv.compile(schema);
const crd = rolloutPlanOpenApiSchema();

/** Ajv's errors as `path: message`, the path in `rollgate validate`'s spelling (`spec.phases[0].weight`). */
function schemaErrors(doc: unknown): string[] {
  if (validate(doc)) return [];
  return (validate.errors ?? []).map((e) => {
    const segments = e.instancePath.split('/').slice(1).map((s) => (/^\d+$/.test(s) ? Number(s) : s.replace(/~1/g, '/').replace(/~0/g, '~')));
    if (e.keyword === 'additionalProperties') segments.push((e.params as { additionalProperty: string }).additionalProperty);
    if (e.keyword === 'required') segments.push((e.params as { missingProperty: string }).missingProperty);
    return `${formatPath(segments)}: ${e.message}`;
  });
}

function documents(file: string): unknown[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS());
}

const yamlFiles = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.yaml')).map((f) => path.join(dir, f));

/** The complete plans in README.md and docs/*.md: fenced YAML blocks of a RolloutPlan without `...` placeholders. */
function docsExamples(): { name: string; text: string }[] {
  const files = ['README.md', ...readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
  return files.flatMap((file) => {
    const text = readFileSync(path.join(ROOT, file), 'utf8');
    return [...text.matchAll(/```ya?ml\n([\s\S]*?)```/g)]
      .filter((m) => /^kind: RolloutPlan$/m.test(m[1]!) && !m[1]!.includes('...'))
      .map((m) => ({ name: `${file}:${text.slice(0, m.index).split('\n').length}`, text: m[1]! }));
  });
}

const examplePlans = [
  ...yamlFiles(SHARED_EXAMPLES),
  ...yamlFiles(FIXTURES),
  path.join(ROOT, 'deploy/examples/rolloutplan.yaml'),
  ...yamlFiles(path.join(ROOT, 'config/demo')),
].flatMap((file) => documents(file).map((doc, i) => ({ name: `${path.relative(path.dirname(ROOT), file)}#${i}`, doc })));

/** Each invalid fixture with what its header says: the field at fault, and whether the CRD rejects it too. */
const invalidFixtures = readdirSync(INVALID)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => {
    const text = readFileSync(path.join(INVALID, f), 'utf8');
    const field = /^# expect: (\S+)$/m.exec(text)?.[1];
    const crdVerdict = /^# crd: (rejects|keeps)/m.exec(text)?.[1];
    if (!field || !crdVerdict) throw new Error(`${f}: the header needs "# expect: FIELD" and "# crd: rejects|keeps"`);
    return { name: f, file: path.join(INVALID, f), doc: documents(path.join(INVALID, f))[0], field, crdRejects: crdVerdict === 'rejects' };
  });

describe('the committed schema/rolloutplan.schema.json', () => {
  it('is what `rollgate schema` prints (src/plan/json-schema.ts from the plan schema)', () => {
    const committed = readFileSync(path.join(ROOT, 'schema/rolloutplan.schema.json'), 'utf8');
    if (committed !== planJsonSchemaText()) expect.fail('schema/rolloutplan.schema.json is out of date with src/plan/schema.ts: run `npm run gen:schema` and commit the result');
  });

  it('is shipped in the npm package', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { files: string[] };
    expect(pkg.files).toContain('schema');
  });
});

describe('the JSON Schema', () => {
  it('is draft 2020-12 with a title and descriptions for editors', () => {
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.title).toBe('RolloutPlan');
    expect(schema.description).toMatch(/rollgate validate/);
    const spec = (schema.properties as Record<string, { properties: Record<string, { description?: string }> }>).spec!;
    const undescribed = Object.entries(spec.properties).filter(([, node]) => !node.description).map(([name]) => name);
    expect(undescribed).toEqual([]);
  });

  it('describes the text of durations, never their milliseconds (the input side)', () => {
    const guard = (schema as any).properties.spec.properties.guard.properties;
    expect(guard.interval).toMatchObject({ type: 'string', minLength: 1, description: expect.stringMatching(/15m/) });
    expect(guard.interval.default).toBeUndefined();
    expect((schema as any).properties.spec.properties.metrics.items.properties.tolerance.anyOf.map((b: { type: string }) => b.type)).toEqual(['number', 'string']);
  });

  it('accepts a ${NAME} reference wherever it checks a pattern, and has no format (a reference is no URI)', () => {
    const plan = structuredClone(documents(path.join(FIXTURES, 'valid.yaml'))[0]) as any;
    plan.spec.prometheus.address = '${PROMETHEUS_URL}';
    plan.spec.guard.interval = '${GUARD_INTERVAL}';
    plan.spec.windows[0].start = '${WINDOW_START}';
    plan.spec.phases[0].checkpoints = ['${FIRST_CHECK}', '30m'];
    expect(schemaErrors(plan)).toEqual([]);
    expect(JSON.stringify(schema)).not.toMatch(/"format"/);
  });

  it('a duration pattern accepts exactly what parseDuration accepts', () => {
    const interval = (schema as any).properties.spec.properties.guard.properties.interval;
    const pattern = new RegExp(interval.pattern, 'u');
    const unit = fc.constantFrom('y', 'w', 'd', 'h', 'm', 's', 'ms', 'x', '');
    const text = fc.array(fc.tuple(fc.nat(99), unit), { maxLength: 4 }).map((parts) => parts.map(([n, u]) => `${n}${u}`).join(''));
    fc.assert(fc.property(fc.oneof(text, fc.string({ maxLength: 6 })), (t) => (t.length >= 1 && pattern.test(t)) === (parseDuration(t) !== null)));
  });

  it('an instant pattern accepts what parseInstant accepts, and refuses times out of range', () => {
    const startAt = new RegExp((schema as any).properties.spec.properties.startAt.pattern, 'u');
    for (const t of ['2025-11-01T14:00:00Z', '2025-11-01T14:00Z', '2025-11-01T15:00:00.123+01:00', '2025-11-01T14:00:00-05:30']) {
      expect([t, parseInstant(t) !== null, startAt.test(t)]).toEqual([t, true, true]);
    }
    for (const t of ['2025-11-01 14:00', '2025-11-01T14:00:00', '2025-13-01T00:00Z', '2025-11-01T24:00Z', '2025-11-01T14:60Z', '1h']) {
      expect([t, startAt.test(t)]).toEqual([t, false]);
    }
  });
});

describe('accepts every example plan', () => {
  it('there are examples: the shared ones, the fixtures, deploy/examples, the demo plans', () => expect(examplePlans.length).toBeGreaterThanOrEqual(12));

  it.each(examplePlans)('$name', ({ doc }) => {
    expect(schemaErrors(doc)).toEqual([]);
  });

  const docs = docsExamples();
  it('the docs have complete example plans (README.md, docs/plan-reference.md)', () => {
    expect(docs.map((d) => d.name.split(':')[0])).toEqual(expect.arrayContaining(['README.md', 'docs/plan-reference.md']));
  });

  it.each(docs)('$name: accepted, valid for rollgate too, and it names the schema', async ({ text }) => {
    for (const doc of parseAllDocuments(text).map((d) => d.toJS())) expect(schemaErrors(doc)).toEqual([]);
    expect(text).toMatch(MODELINE);
  });
});

describe('the project\'s plans name the schema with a modeline the loader reads as a comment', () => {
  const files = [path.join(ROOT, 'deploy/examples/rolloutplan.yaml'), ...yamlFiles(path.join(ROOT, 'config/demo'))];

  it.each(files.map((f) => path.relative(ROOT, f)))('%s', async (rel) => {
    const file = path.join(ROOT, rel);
    const target = MODELINE.exec(readFileSync(file, 'utf8'))?.[1];
    expect(target).toBeDefined();
    expect(path.resolve(path.dirname(file), target!)).toBe(path.join(ROOT, 'schema/rolloutplan.schema.json'));
    const loaded = await loadPlanFile(file, { envMode: 'lenient', env: {} });
    expect(loaded.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(loaded.plans.length).toBeGreaterThanOrEqual(1);
  });
});

describe('rejects the invalid fixtures at the field rollgate validate names', () => {
  it('there are invalid fixtures: types, unknown fields, missing fields, enums, durations, instants, bounds', () => {
    expect(invalidFixtures.length).toBeGreaterThanOrEqual(12);
  });

  it.each(invalidFixtures)('$name', async ({ file, doc, field }) => {
    const cli = await loadPlanFile(file, { envMode: 'lenient', env: {} });
    expect(cli.plans).toEqual([]);
    expect(cli.diagnostics.filter((d) => d.severity === 'error').map((d) => d.path)).toEqual([field]);
    const errors = schemaErrors(doc);
    expect(errors.some((e) => e.startsWith(`${field}: `)), errors.join('\n')).toBe(true);
  });
});

describe('the CRD\'s openAPIV3Schema and the JSON Schema agree', () => {
  it.each(examplePlans)('both accept $name', ({ doc }) => {
    expect(schemaErrors(doc)).toEqual([]);
    expect(validateOpenApi(doc, crd)).toEqual([]);
  });

  it.each(invalidFixtures)('$name: both reject it where the CRD can say it (the fixture\'s "# crd:" line)', ({ doc, field, crdRejects }) => {
    expect(schemaErrors(doc)).not.toEqual([]);
    const problems = validateOpenApi(doc, crd);
    if (crdRejects) expect(problems.some((p) => p.startsWith(`.${field}:`)), problems.join('\n')).toBe(true);
    else expect(problems).toEqual([]);
  });
});
