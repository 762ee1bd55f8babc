/**
 * The RolloutPlan CustomResourceDefinition (rolloutplans.rollgate.dev), generated from the zod
 * schema of the plan so that the cluster and `rollgate validate` never disagree on a field.
 *
 * zod 4 renders the *input* side of `specSchema` as JSON Schema (draft 2020-12); `toStructural`
 * turns that into the OpenAPI v3 subset Kubernetes accepts as a *structural* schema:
 *
 * - every node typed; no `$ref`, `$schema`, `propertyNames`, `const`;
 * - strict objects lose `additionalProperties: false` (forbidden next to `properties`): the API
 *   server prunes unknown fields, and `kubectl apply` (field validation Strict) rejects them;
 * - maps keep `additionalProperties: <schema>`;
 * - unions (`host:port` or a list of them; a checkpoint list, its items, `{every, until}`) are
 *   not expressible structurally: such a node keeps any value
 *   (`x-kubernetes-preserve-unknown-fields`) and says what it accepts in its description; the
 *   controller validates it with the zod schema and reports errors in status and Events;
 * - `default`s are not copied (the zod schema applies them, so a stored object is exactly what
 *   its author wrote and the plan hash does not depend on the API server); they are documented
 *   in the description instead;
 * - string patterns also accept a `${NAME}` environment reference, which the controller expands
 *   before validating (docs/plan-reference.md: any string value may reference one); `format` is dropped
 *   for the same reason;
 * - JSON Schema's numeric `exclusiveMinimum` becomes OpenAPI 3.0's `minimum` + boolean flag.
 *
 * `structuralProblems` checks the result against Kubernetes' rules, so generation fails loudly
 * when a future schema change produces something the API server would refuse.
 */
import { z } from 'zod';
import { stringify } from 'yaml';
import { API_VERSION, KIND, metadataSchema, specSchema } from '../plan/schema.js';
import { ENV_REFERENCE_PATTERN } from '../plan/env.js';

export const CRD_GROUP = 'rollgate.dev';
export const CRD_VERSION = 'v1alpha1';
export const CRD_PLURAL = 'rolloutplans';
export const CRD_SINGULAR = 'rolloutplan';
export const CRD_SHORT_NAMES = ['rp'] as const;
export const CRD_NAME = `${CRD_PLURAL}.${CRD_GROUP}`;

/** The subset of apiextensions.k8s.io/v1 JSONSchemaProps this generator writes. */
export interface OpenApiSchema {
  type?: 'object' | 'array' | 'string' | 'number' | 'integer' | 'boolean';
  description?: string;
  properties?: Record<string, OpenApiSchema>;
  required?: string[];
  additionalProperties?: OpenApiSchema;
  items?: OpenApiSchema;
  enum?: unknown[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  minItems?: number;
  maxItems?: number;
  nullable?: boolean;
  format?: string;
  'x-kubernetes-preserve-unknown-fields'?: true;
  'x-kubernetes-int-or-string'?: true;
}

type JsonSchema = Record<string, unknown>;


/** Keywords of zod's JSON Schema output that the conversion understands. */
const KNOWN = new Set([
  '$schema', 'type', 'properties', 'required', 'additionalProperties', 'propertyNames', 'items',
  'enum', 'const', 'pattern', 'format', 'minLength', 'maxLength', 'minimum', 'maximum',
  'exclusiveMinimum', 'exclusiveMaximum', 'minItems', 'maxItems', 'default', 'description', 'title',
  'anyOf', 'oneOf',
]);

/** Converts one JSON Schema node (zod's draft 2020-12 output) to a structural OpenAPI v3 node. */
export function toStructural(node: JsonSchema, path = '$'): OpenApiSchema {
  for (const key of Object.keys(node)) {
    if (!KNOWN.has(key)) throw new Error(`${path}: JSON Schema keyword "${key}" has no structural OpenAPI equivalent here; extend src/cluster/crd.ts`);
  }
  const union = (node.anyOf ?? node.oneOf) as JsonSchema[] | undefined;
  if (union) return unionNode(union, node, path);

  const out: OpenApiSchema = {};
  const description = describe(node);
  if (description) out.description = description;

  const enumValues = node.const !== undefined ? [node.const] : (node.enum as unknown[] | undefined);
  switch (node.type) {
    case 'object': {
      out.type = 'object';
      const props = node.properties as Record<string, JsonSchema> | undefined;
      const additional = node.additionalProperties as JsonSchema | boolean | undefined;
      if (props && Object.keys(props).length > 0) {
        out.properties = {};
        for (const [name, child] of Object.entries(props)) out.properties[name] = toStructural(child, `${path}.${name}`);
        const required = node.required as string[] | undefined;
        if (required?.length) out.required = [...required];
        // A loose object (`additionalProperties: {}`) keeps its unknown fields.
        if (isAnything(additional)) out['x-kubernetes-preserve-unknown-fields'] = true;
      } else if (additional && typeof additional === 'object' && !isAnything(additional)) {
        out.additionalProperties = toStructural(additional, `${path}.*`);
      } else if (additional !== false) {
        out['x-kubernetes-preserve-unknown-fields'] = true;
      }
      break;
    }
    case 'array': {
      out.type = 'array';
      const items = node.items as JsonSchema | undefined;
      if (!items || Array.isArray(items)) throw new Error(`${path}: an array needs one items schema`);
      out.items = toStructural(items, `${path}[]`);
      copyNumber(node, out, 'minItems');
      copyNumber(node, out, 'maxItems');
      break;
    }
    case 'string': {
      out.type = 'string';
      copyNumber(node, out, 'minLength');
      copyNumber(node, out, 'maxLength');
      if (typeof node.pattern === 'string') out.pattern = `(?:${node.pattern})|${ENV_REFERENCE_PATTERN}`; // a `${NAME}` is allowed wherever a pattern constrains a string
      break;
    }
    case 'number':
    case 'integer': {
      out.type = node.type;
      bound(node, out, 'minimum', 'exclusiveMinimum', -Number.MAX_SAFE_INTEGER);
      bound(node, out, 'maximum', 'exclusiveMaximum', Number.MAX_SAFE_INTEGER);
      break;
    }
    case 'boolean':
      out.type = 'boolean';
      break;
    default:
      if (node.type === undefined && Object.keys(node).every((k) => k === 'description' || k === 'default' || k === 'title')) {
        out['x-kubernetes-preserve-unknown-fields'] = true;
        break;
      }
      throw new Error(`${path}: unsupported JSON Schema type ${JSON.stringify(node.type)}`);
  }
  if (enumValues) out.enum = [...enumValues];
  return out;
}

/** `a | b`: int-or-string where that is what it is, otherwise any value, described. */
function unionNode(branches: JsonSchema[], node: JsonSchema, path: string): OpenApiSchema {
  const types = branches.map((b) => b.type).sort();
  const accepts = branches.map(summary).join(', or ');
  const description = [describe(node), `One of: ${accepts}.`].filter(Boolean).join(' ');
  if (types.length === 2 && types[0] === 'integer' && types[1] === 'string') {
    return { description, 'x-kubernetes-int-or-string': true };
  }
  // Still check each branch converts, so an unsupported keyword inside a union is caught too.
  branches.forEach((b, i) => toStructural(b, `${path}|${i}`));
  return { description: `${description} Checked by rollgate when the plan is loaded.`, 'x-kubernetes-preserve-unknown-fields': true };
}

/** A short phrase for one union branch: "a string", "a list of strings", "an object {every, until}". */
function summary(node: JsonSchema): string {
  switch (node.type) {
    case 'string':
      return 'a string';
    case 'integer':
      return 'an integer';
    case 'number':
      return 'a number';
    case 'boolean':
      return 'true or false';
    case 'array': {
      const items = node.items as JsonSchema | undefined;
      const min = typeof node.minItems === 'number' && node.minItems > 0 ? ` (at least ${node.minItems})` : '';
      const of = !items ? 'values' : items.anyOf || items.oneOf ? `items that are ${summary(items)}` : `${summary(items).replace(/^an? /, '')}s`;
      return `a list${min} of ${of}`;
    }
    case 'object': {
      const props = Object.keys((node.properties as object | undefined) ?? {});
      return props.length ? `an object {${props.join(', ')}}` : 'an object';
    }
    default: {
      const branches = (node.anyOf ?? node.oneOf) as JsonSchema[] | undefined;
      return branches ? branches.map(summary).join(' or ') : 'any value';
    }
  }
}

function describe(node: JsonSchema): string {
  const parts: string[] = [];
  if (typeof node.description === 'string') parts.push(node.description);
  if (node.default !== undefined) parts.push(`Default: ${JSON.stringify(node.default)}.`);
  return parts.join(' ');
}

function isAnything(s: unknown): boolean {
  return s === true || (typeof s === 'object' && s !== null && Object.keys(s).length === 0);
}

function copyNumber(from: JsonSchema, to: OpenApiSchema, key: 'minItems' | 'maxItems' | 'minLength' | 'maxLength'): void {
  if (typeof from[key] === 'number') to[key] = from[key];
}

/** Inclusive and exclusive bounds; zod's ±MAX_SAFE_INTEGER for `int()` says nothing and is dropped. */
function bound(from: JsonSchema, to: OpenApiSchema, key: 'minimum' | 'maximum', exclusiveKey: 'exclusiveMinimum' | 'exclusiveMaximum', implicit: number): void {
  const exclusive = from[exclusiveKey];
  const inclusive = from[key];
  if (typeof exclusive === 'number') {
    to[key] = exclusive;
    to[exclusiveKey] = true;
  } else if (typeof inclusive === 'number' && inclusive !== implicit) {
    to[key] = inclusive;
  }
}

/** The plan's `spec` as a structural OpenAPI v3 schema (`spec`: another router list's, see planSchemaFor). */
export function specOpenApiSchema(spec: z.ZodType = specSchema): OpenApiSchema {
  const json = z.toJSONSchema(spec, { io: 'input', reused: 'inline', cycles: 'throw', unrepresentable: 'throw' }) as JsonSchema;
  const structural = toStructural(json, 'spec');
  structural.description = 'The rollout plan: traffic router, gate metrics, analysis, guard, rollback, windows and phases (docs/plan-reference.md). Validated in full by the controller; errors appear in status and Events.';
  return structural;
}

/** `metadata`: only restrictions on `name` are allowed; a plan's name is a DNS-1123 label. */
function metadataOpenApiSchema(): OpenApiSchema {
  const json = z.toJSONSchema(metadataSchema.pick({ name: true }), { io: 'input' }) as JsonSchema;
  const name = toStructural((json.properties as Record<string, JsonSchema>).name!, 'metadata.name');
  // A resource name cannot be an environment reference: keep the plain pattern there.
  name.pattern = (((json.properties as Record<string, JsonSchema>).name!).pattern as string);
  return { type: 'object', properties: { name } };
}

/** What the controller writes with a merge patch to the status subresource. */
export function statusOpenApiSchema(): OpenApiSchema {
  const str = (description: string, nullable = false): OpenApiSchema => ({ type: 'string', description, ...(nullable ? { nullable: true } : {}) });
  return {
    type: 'object',
    description: 'Where the rollout stands, written by the controller (the journal ConfigMap rollgate-journal-<name> is the record of truth).',
    // Fields a newer controller adds must survive an older CRD: keep unknown fields.
    'x-kubernetes-preserve-unknown-fields': true,
    properties: {
      observedGeneration: { type: 'integer', description: 'metadata.generation of the spec the controller last acted on.' },
      revision: str('spec.revision of the current rollout.'),
      planHash: str('sha256 of the plan as written, after environment expansion.'),
      status: str('waiting, progressing, paused, rolling-back, rolled-back or complete (aborted after an abort).'),
      phase: str('Current phase name.', true),
      weight: { type: 'number', description: "Canary's decided share of live traffic, percent." },
      mirror: { type: 'number', description: "Canary's decided share of mirrored traffic, percent." },
      checkpoint: str('Checkpoint of the phase, as "index/of" (e.g. 2/6).', true),
      lastDecision: str('The last decision: start, continue, advance, complete, hold, pause, resume, rollback, abort, promote, wait or plan-updated.', true),
      lastDecisionAt: str('When the last decision was taken (RFC 3339).', true),
      nextAt: str('When the controller next acts on its own for this rollout (RFC 3339).', true),
      seq: { type: 'integer', description: 'seq of the last decision record.' },
      records: {
        type: 'array',
        description: 'The last 10 decision records (docs/decision-record.md).',
        items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
      },
      counts: { type: 'object', description: 'Decisions taken so far, by decision.', additionalProperties: { type: 'integer' } },
      lastRequest: {
        type: 'object',
        description: 'The answer to the last manual request (annotation rollgate.dev/request).',
        properties: {
          id: { type: 'string' },
          accepted: { type: 'boolean' },
          message: { type: 'string' },
          seq: { type: 'integer' },
        },
      },
      controller: {
        type: 'object',
        description: 'Who wrote this status: the replica and the Lease it held for the plan\'s shard (rollgate status reads that Lease to tell a live leader from none).',
        properties: {
          identity: str('The writing replica (its pod name).'),
          lease: str('The Lease it held, as namespace/name.'),
        },
      },
      guard: {
        type: 'object',
        nullable: true,
        description: 'The guard between checkpoints; null when it watches no metric.',
        properties: {
          strikes: { type: 'integer', description: 'Failing guard evaluations in a row so far.' },
          consecutive: { type: 'integer', description: 'Failing evaluations in a row that roll back (spec.guard.consecutive).' },
          interval: str('How often the guard evaluates (spec.guard.interval), e.g. 30s.'),
        },
      },
    },
  };
}

/** The whole custom resource's schema: apiVersion, kind, metadata, spec, status. */
export function rolloutPlanOpenApiSchema(): OpenApiSchema {
  return {
    type: 'object',
    description: 'A progressive-delivery rollout: phases of traffic splits gated by Prometheus checkpoints, with a guard and rollback.',
    required: ['spec'],
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: metadataOpenApiSchema(),
      spec: specOpenApiSchema(),
      status: statusOpenApiSchema(),
    },
  };
}

/** The CustomResourceDefinition object (apiextensions.k8s.io/v1). */
export function buildRolloutPlanCrd(): Record<string, unknown> {
  const schema = rolloutPlanOpenApiSchema();
  const problems = structuralProblems(schema);
  if (problems.length) throw new Error(`the generated RolloutPlan schema is not structural:\n  ${problems.join('\n  ')}`);
  const [group, version] = API_VERSION.split('/');
  if (group !== CRD_GROUP || version !== CRD_VERSION) throw new Error(`plan apiVersion ${API_VERSION} does not match the CRD ${CRD_GROUP}/${CRD_VERSION}`);
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: CRD_NAME,
      labels: { 'app.kubernetes.io/name': 'rollgate', 'app.kubernetes.io/part-of': 'rollgate' },
    },
    spec: {
      group: CRD_GROUP,
      scope: 'Namespaced',
      names: { kind: KIND, listKind: `${KIND}List`, plural: CRD_PLURAL, singular: CRD_SINGULAR, shortNames: [...CRD_SHORT_NAMES], categories: ['rollgate'] },
      versions: [
        {
          name: CRD_VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: 'Status', type: 'string', jsonPath: '.status.status' },
            { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
            { name: 'Weight', type: 'number', jsonPath: '.status.weight' },
            { name: 'Checkpoint', type: 'string', jsonPath: '.status.checkpoint' },
            { name: 'Last decision', type: 'string', jsonPath: '.status.lastDecision' },
            { name: 'Strikes', type: 'integer', jsonPath: '.status.guard.strikes', priority: 1 },
            { name: 'Revision', type: 'string', jsonPath: '.spec.revision', priority: 1 },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: { openAPIV3Schema: schema },
        },
      ],
    },
  };
}

/** deploy/base/crd.yaml, byte for byte. */
export function crdYaml(): string {
  const header = [
    '# Generated from src/plan/schema.ts by src/cluster/crd.ts: do not edit; run `npm run gen:crd`.',
    '# test/unit/kube-crd.test.ts fails when this file and the schema drift apart.',
  ].join('\n');
  return `${header}\n${stringify(buildRolloutPlanCrd(), { lineWidth: 0 })}`;
}

/**
 * Where `schema` breaks Kubernetes' structural-schema rules (apiextensions-apiserver's
 * validation of openAPIV3Schema): a node without a type, properties next to
 * additionalProperties, unsupported keywords, defaults, non-boolean exclusive bounds, metadata
 * restrictions beyond name. Empty when the API server would accept it.
 */
export function structuralProblems(schema: OpenApiSchema, path = 'openAPIV3Schema'): string[] {
  const problems: string[] = [];
  const allowed = new Set([
    'type', 'description', 'properties', 'required', 'additionalProperties', 'items', 'enum', 'pattern',
    'minLength', 'maxLength', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'minItems',
    'maxItems', 'nullable', 'format', 'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-int-or-string',
  ]);
  const walk = (node: OpenApiSchema, at: string, isRoot: boolean): void => {
    for (const key of Object.keys(node)) if (!allowed.has(key)) problems.push(`${at}: keyword "${key}" is not allowed`);
    const untypedOk = node['x-kubernetes-preserve-unknown-fields'] === true || node['x-kubernetes-int-or-string'] === true;
    if (!node.type && !untypedOk) problems.push(`${at}: no type`);
    if (node.properties && node.additionalProperties) problems.push(`${at}: properties and additionalProperties are mutually exclusive`);
    if (node.properties && node.type !== 'object') problems.push(`${at}: properties on a ${node.type ?? 'untyped'} node`);
    if (node.items && node.type !== 'array') problems.push(`${at}: items on a ${node.type ?? 'untyped'} node`);
    if (node.type === 'array' && !node.items) problems.push(`${at}: array without items`);
    for (const k of ['exclusiveMinimum', 'exclusiveMaximum'] as const) {
      if (node[k] !== undefined && typeof node[k] !== 'boolean') problems.push(`${at}: ${k} must be a boolean in OpenAPI v3.0`);
    }
    for (const r of node.required ?? []) if (!node.properties?.[r]) problems.push(`${at}: required "${r}" is not a property`);
    if (node.pattern !== undefined) {
      try {
        new RegExp(node.pattern, 'u');
      } catch (err) {
        problems.push(`${at}: pattern does not compile: ${(err as Error).message}`);
      }
    }
    for (const [name, child] of Object.entries(node.properties ?? {})) {
      if (isRoot && name === 'metadata') {
        const extra = Object.keys(child.properties ?? {}).filter((k) => k !== 'name' && k !== 'generateName');
        if (extra.length) problems.push(`${at}.metadata: only name and generateName may be restricted, not ${extra.join(', ')}`);
      }
      walk(child, `${at}.properties.${name}`, false);
    }
    if (node.additionalProperties) walk(node.additionalProperties, `${at}.additionalProperties`, false);
    if (node.items) walk(node.items, `${at}.items`, false);
  };
  if (schema.type !== 'object') problems.push(`${path}: the root must be of type object`);
  walk(schema, path, true);
  return problems;
}
