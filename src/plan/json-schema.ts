/**
 * The JSON Schema (draft 2020-12) of a RolloutPlan file, for editors: `rollgate schema` prints
 * it and schema/rolloutplan.schema.json is it, committed (scripts/gen-files.mjs writes it,
 * test/unit/plan-json-schema.test.ts fails when it is out of date).
 *
 * It is zod's rendering of the *input* side of `planSchema` (what a person writes: `15m`,
 * `20%`, numbers), so transforms never show; durations, instants and checkpoint offsets carry
 * the patterns of their `.meta()` (schema.ts). Two changes, the same as the CRD's
 * (src/cluster/crd.ts), because every string value may be a `${NAME}` reference that rollgate
 * expands before validating (docs/plan-reference.md, "Environment variables"):
 *
 * - a `pattern` also accepts a `${NAME}` reference;
 * - `format` is dropped (a `${PROMETHEUS_URL}` is not a URI).
 *
 * What the schema cannot say is checked by `rollgate validate` only: rules across fields
 * (unique phase names, thresholds naming known metrics, a router's block present), PromQL,
 * time zone names, calendar dates, URLs.
 */
import { z } from 'zod';
import { ENV_REFERENCE_PATTERN } from './env.js';
import { API_VERSION, KIND, planSchema } from './schema.js';

export type JsonSchema = { [keyword: string]: unknown };

/** The JSON Schema of `schema` (default: the plan schema of every router of the registry). */
export function planJsonSchema(schema: z.ZodType = planSchema): JsonSchema {
  const generated = z.toJSONSchema(schema, { io: 'input', reused: 'inline', cycles: 'throw', unrepresentable: 'throw' }) as JsonSchema;
  const { $schema, ...rest } = forReferences(generated);
  return {
    $schema,
    title: KIND,
    description: `A rollgate rollout plan (${API_VERSION}), on disk for \`rollgate run\` or as a Kubernetes resource (docs/plan-reference.md). \`rollgate validate\` also checks what a schema cannot: rules across fields, PromQL, time zones.`,
    ...rest,
  };
}

/** schema/rolloutplan.schema.json, byte for byte. */
export function planJsonSchemaText(): string {
  return `${JSON.stringify(planJsonSchema(), null, 2)}\n`;
}

/** A copy of a schema node where patterns also accept `${NAME}` and `format` is gone. */
function forReferences(node: JsonSchema): JsonSchema {
  const out: JsonSchema = {};
  for (const [keyword, value] of Object.entries(node)) {
    if (keyword === 'format') continue;
    if (keyword === 'pattern' && typeof value === 'string') out[keyword] = `(?:${value})|${ENV_REFERENCE_PATTERN}`;
    else if (keyword === 'properties') out[keyword] = Object.fromEntries(Object.entries(value as Record<string, JsonSchema>).map(([name, child]) => [name, forReferences(child)]));
    else if (keyword === 'items' || keyword === 'additionalProperties' || keyword === 'propertyNames') out[keyword] = isSchema(value) ? forReferences(value) : value;
    else if (keyword === 'anyOf' || keyword === 'oneOf' || keyword === 'allOf') out[keyword] = (value as JsonSchema[]).map(forReferences);
    else out[keyword] = value;
  }
  return out;
}

function isSchema(value: unknown): value is JsonSchema {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
