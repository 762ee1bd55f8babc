/**
 * A small validator of values against the structural OpenAPI v3 schemas src/cluster/crd.ts
 * writes, following what the Kubernetes API server does on create/update with kubectl's
 * default field validation (Strict): types, nullable, required, enum, string length and
 * pattern, numeric bounds (exclusive as booleans), list lengths, maps via
 * additionalProperties, x-kubernetes-preserve-unknown-fields and x-kubernetes-int-or-string,
 * and unknown fields rejected where they would be pruned (except in metadata, an ObjectMeta). It covers exactly the keywords
 * structuralProblems() admits, and throws on any other so it cannot silently pass.
 */
import type { OpenApiSchema } from '../../src/cluster/crd.js';

const HANDLED = new Set([
  'type', 'description', 'properties', 'required', 'additionalProperties', 'items', 'enum', 'pattern',
  'minLength', 'maxLength', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'minItems',
  'maxItems', 'nullable', 'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-int-or-string',
]);

/** Problems of `value` under `schema`, each as `path: message`; empty when valid. */
export function validateOpenApi(value: unknown, schema: OpenApiSchema, path = ''): string[] {
  for (const k of Object.keys(schema)) if (!HANDLED.has(k)) throw new Error(`${path || '.'}: the test validator does not handle "${k}"`);
  const at = path || '.';
  if (value === null) return schema.nullable ? [] : [`${at}: must not be null`];
  if (schema['x-kubernetes-int-or-string']) {
    return Number.isInteger(value) || typeof value === 'string' ? [] : [`${at}: must be an integer or a string`];
  }
  if (!schema.type) return schema['x-kubernetes-preserve-unknown-fields'] ? [] : [`${at}: schema node without type`];

  const problems: string[] = [];
  switch (schema.type) {
    case 'object': {
      if (typeof value !== 'object' || Array.isArray(value)) return [`${at}: must be an object`];
      const obj = value as Record<string, unknown>;
      for (const r of schema.required ?? []) if (!(r in obj)) problems.push(`${path}.${r}: required`);
      for (const [k, v] of Object.entries(obj)) {
        const child = schema.properties?.[k] ?? schema.additionalProperties;
        if (child) problems.push(...validateOpenApi(v, child, `${path}.${k}`));
        // ObjectMeta's own fields (namespace, labels, ...) are validated by the API server, not the CRD.
        else if (!schema['x-kubernetes-preserve-unknown-fields'] && path !== '.metadata') problems.push(`${path}.${k}: unknown field`);
      }
      break;
    }
    case 'array': {
      if (!Array.isArray(value)) return [`${at}: must be a list`];
      if (schema.minItems !== undefined && value.length < schema.minItems) problems.push(`${at}: must have at least ${schema.minItems} items`);
      if (schema.maxItems !== undefined && value.length > schema.maxItems) problems.push(`${at}: must have at most ${schema.maxItems} items`);
      value.forEach((v, i) => problems.push(...validateOpenApi(v, schema.items!, `${path}[${i}]`)));
      break;
    }
    case 'string': {
      if (typeof value !== 'string') return [`${at}: must be a string`];
      if (schema.minLength !== undefined && value.length < schema.minLength) problems.push(`${at}: shorter than ${schema.minLength}`);
      if (schema.maxLength !== undefined && value.length > schema.maxLength) problems.push(`${at}: longer than ${schema.maxLength}`);
      if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value)) problems.push(`${at}: does not match ${schema.pattern}`);
      break;
    }
    case 'integer':
    case 'number': {
      if (typeof value !== 'number' || (schema.type === 'integer' && !Number.isInteger(value))) return [`${at}: must be ${schema.type === 'integer' ? 'an integer' : 'a number'}`];
      if (schema.minimum !== undefined && (schema.exclusiveMinimum ? value <= schema.minimum : value < schema.minimum)) problems.push(`${at}: below the minimum ${schema.minimum}`);
      if (schema.maximum !== undefined && (schema.exclusiveMaximum ? value >= schema.maximum : value > schema.maximum)) problems.push(`${at}: above the maximum ${schema.maximum}`);
      break;
    }
    case 'boolean':
      if (typeof value !== 'boolean') return [`${at}: must be true or false`];
      break;
  }
  if (schema.enum && !schema.enum.includes(value)) problems.push(`${at}: must be one of ${schema.enum.join(', ')}`);
  return problems;
}
